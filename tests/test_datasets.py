"""Dataset loaders on the real files, every bad input, and the download path (offline)."""

import functools
import gzip
import http.server
import shutil
import threading

import numpy as np
import pytest

from lava_ff import datasets
from lava_ff.datasets import DatasetError


# ------------------------------------------------------------------ real files
def test_mnist_train_shapes_and_label_counts(mnist_dir):
    train = datasets.load_mnist(mnist_dir, "train")
    assert train.images.shape == (60000, 28, 28)
    assert train.images.dtype == np.float32
    assert 0.0 <= train.images.min() and train.images.max() == 1.0
    assert int((train.labels == 1).sum()) == 6742
    test = datasets.load_mnist(mnist_dir, "test")
    assert len(test) == 10000


def test_nmnist_subset_counts_and_sensor(nmnist_dir):
    train = datasets.load_nmnist(nmnist_dir, "train")
    test = datasets.load_nmnist(nmnist_dir, "test")
    assert (len(train), len(test)) == (1000, 100)
    assert train.sensor_size == (34, 34, 2)
    events = train.events[0]
    assert events.dtype.names == ("x", "y", "t", "p")
    assert events["x"].max() < 34 and events["y"].max() < 34
    assert np.all(np.diff(events["t"]) >= 0)
    assert set(np.unique(train.labels)) <= set(range(10))
    assert test.sample_ids[0] == 60001


def test_bs2_decoding_matches_tonic_reader(nmnist_dir):
    tonic_io = pytest.importorskip("tonic.io")
    path = nmnist_dir / "1.bs2"
    ours = datasets.read_bs2(path)
    theirs = tonic_io.read_mnist_file(str(path), dtype=np.dtype([("x", int), ("y", int),
                                                                   ("t", int), ("p", int)]))
    for field in "xytp":
        np.testing.assert_array_equal(ours[field], theirs[field])


def test_digits_ship_with_sklearn():
    digits = datasets.load_digits()
    assert digits.images.shape == (1797, 8, 8)
    assert digits.images.max() == 1.0 and digits.num_classes == 10


# ------------------------------------------------------------------ bad input
def _write_idx(directory, prefix, images, labels, gz=True):
    directory.mkdir(parents=True, exist_ok=True)
    img = (b"\x00\x00\x08\x03" + np.array(images.shape, ">u4").tobytes() + images.tobytes())
    lbl = b"\x00\x00\x08\x01" + np.array([len(labels)], ">u4").tobytes() + labels.tobytes()
    for stem, payload in ((f"{prefix}-images-idx3-ubyte", img), (f"{prefix}-labels-idx1-ubyte", lbl)):
        if gz:
            (directory / (stem + ".gz")).write_bytes(gzip.compress(payload))
        else:
            (directory / stem).write_bytes(payload)


@pytest.fixture
def tiny_idx(tmp_path, rng):
    images = rng.integers(0, 256, (5, 4, 4), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 4], np.uint8)
    _write_idx(tmp_path / "gz", "train", images, labels, gz=True)
    _write_idx(tmp_path / "raw", "train", images, labels, gz=False)
    return tmp_path, images, labels


def test_idx_gzipped_and_raw_read_the_same(tiny_idx):
    root, images, labels = tiny_idx
    for sub in ("gz", "raw"):
        data = datasets.load_idx(root / sub, "train")
        np.testing.assert_allclose(data.images, images / 255.0, rtol=1e-6)
        np.testing.assert_array_equal(data.labels, labels)


def test_missing_directory_is_named(tmp_path):
    with pytest.raises(DatasetError, match="nowhere.*not found"):
        datasets.load_idx(tmp_path / "nowhere")


def test_missing_file_is_named(tiny_idx):
    root, _, _ = tiny_idx
    (root / "gz" / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte.gz: file not found"):
        datasets.load_idx(root / "gz")


def test_truncated_raw_file(tiny_idx):
    root, _, _ = tiny_idx
    path = root / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(path.read_bytes()[:-7])
    with pytest.raises(DatasetError, match=r"train-images-idx3-ubyte: truncated"):
        datasets.load_idx(root / "raw")


def test_truncated_gzip(tiny_idx):
    root, _, _ = tiny_idx
    path = root / "gz" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz: corrupt or truncated gzip"):
        datasets.load_idx(root / "gz")


def test_corrupt_gzip(tiny_idx):
    root, _, _ = tiny_idx
    path = root / "gz" / "train-labels-idx1-ubyte.gz"
    raw = bytearray(path.read_bytes())
    raw[12:20] = b"\xff" * 8
    path.write_bytes(bytes(raw))
    with pytest.raises(DatasetError, match="train-labels-idx1-ubyte.gz"):
        datasets.load_idx(root / "gz")


def test_wrong_magic_number(tiny_idx):
    root, _, _ = tiny_idx
    path = root / "raw" / "train-images-idx3-ubyte"
    path.write_bytes(b"\x12\x34\x08\x03" + path.read_bytes()[4:])
    with pytest.raises(DatasetError, match="wrong idx magic number 0x12340803"):
        datasets.load_idx(root / "raw")


def test_image_label_count_mismatch(tmp_path, rng):
    _write_idx(tmp_path, "train", rng.integers(0, 256, (5, 4, 4), dtype=np.uint8),
               np.arange(4, dtype=np.uint8))
    with pytest.raises(DatasetError, match="has 5 images but .* has 4 labels"):
        datasets.load_idx(tmp_path)


def _bs2(events):
    """Encode (x, y, p, t) rows in the N-MNIST 5-byte layout."""
    out = bytearray()
    for x, y, p, t in events:
        out += bytes([x, y, (p << 7) | (t >> 16), (t >> 8) & 0xFF, t & 0xFF])
    return bytes(out)


def test_bs2_roundtrip_values(tmp_path):
    path = tmp_path / "7.bs2"
    path.write_bytes(_bs2([(1, 2, 0, 10), (33, 0, 1, 8_000_000)]))
    ev = datasets.read_bs2(path)
    assert ev["x"].tolist() == [1, 33] and ev["y"].tolist() == [2, 0]
    assert ev["p"].tolist() == [0, 1] and ev["t"].tolist() == [10, 8_000_000]


def test_bs2_truncated(tmp_path):
    path = tmp_path / "1.bs2"
    path.write_bytes(_bs2([(1, 2, 0, 10)])[:-2])
    with pytest.raises(DatasetError, match="1.bs2: truncated or corrupt"):
        datasets.read_bs2(path)


def test_bs2_empty_recording(tmp_path):
    path = tmp_path / "2.bs2"
    path.write_bytes(b"")
    with pytest.raises(DatasetError, match="2.bs2: empty recording"):
        datasets.read_bs2(path)


def test_bs2_coordinates_outside_sensor(tmp_path):
    path = tmp_path / "3.bs2"
    path.write_bytes(_bs2([(1, 2, 0, 10), (40, 2, 0, 20)]))
    with pytest.raises(DatasetError, match="3.bs2: event 1 has x=40 outside the sensor"):
        datasets.read_bs2(path)


def test_unsorted_timestamps_are_sorted_or_rejected(tmp_path):
    path = tmp_path / "4.bs2"
    path.write_bytes(_bs2([(1, 1, 0, 50), (2, 2, 1, 10)]))
    ev = datasets.read_bs2(path)  # documented: stable sort by t
    assert ev["t"].tolist() == [10, 50] and ev["x"].tolist() == [2, 1]
    with pytest.raises(DatasetError, match="rec: timestamps are not sorted"):
        datasets.validate_events(ev[::-1].copy(), (34, 34, 2), "rec", sort=False)


def test_negative_timestamp_rejected():
    ev = np.zeros(2, datasets.EVENT_DTYPE)
    ev["t"] = [5, -1]
    with pytest.raises(DatasetError, match="rec: event 1 has negative timestamp t=-1"):
        datasets.validate_events(ev, (34, 34, 2), "rec")


def test_nmnist_missing_label_list(tmp_path):
    with pytest.raises(DatasetError, match="no label list"):
        datasets.load_nmnist(tmp_path, "train")


def test_nmnist_missing_recording_named(tmp_path):
    (tmp_path / "train1K.txt").write_text("#sample #class\n1\t5\n")
    with pytest.raises(DatasetError, match="1.bs2: file not found"):
        datasets.load_nmnist(tmp_path, "train")


# ------------------------------------------------------------------- download
@pytest.fixture
def local_mirror(tmp_path, mnist_dir):
    """An HTTP server on 127.0.0.1 serving copies of ../shared/data/mnist."""
    served = tmp_path / "served"
    shutil.copytree(mnist_dir, served)
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", served
    finally:
        server.shutdown()
        server.server_close()


def test_download_verifies_and_loads(local_mirror, tmp_path):
    url, _ = local_mirror
    target = tmp_path / "downloaded"
    test = datasets.load_mnist(target, "test", download=True, mirror=url)
    assert len(test) == 10000
    assert (target / "t10k-images-idx3-ubyte.gz").is_file()
    assert not list(target.glob("*.part"))


def test_download_rejects_checksum_mismatch(local_mirror, tmp_path):
    url, served = local_mirror
    bad = gzip.compress(b"\x00\x00\x08\x01\x00\x00\x00\x01\x07")
    (served / "t10k-labels-idx1-ubyte.gz").write_bytes(bad)
    target = tmp_path / "downloaded"
    with pytest.raises(DatasetError, match="t10k-labels-idx1-ubyte.gz: checksum mismatch"):
        datasets.load_mnist(target, "test", download=True, mirror=url)
    assert not (target / "t10k-labels-idx1-ubyte.gz").exists()  # nothing half-written


def test_download_unreachable_mirror_is_named(tmp_path):
    with pytest.raises(DatasetError, match="download failed"):
        datasets.load_mnist(tmp_path, "test", download=True, mirror="http://127.0.0.1:9/")
