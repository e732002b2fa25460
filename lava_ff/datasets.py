"""Dataset loaders: MNIST-format idx files, N-MNIST ``.bs2`` events, scikit-learn digits.

Every loader takes a path and never touches the network unless asked to
(``download=True``). Malformed input raises :class:`DatasetError` naming the
file and what is wrong with it.

Static images come back as :class:`ImageSet` (``images`` float32 in [0, 1],
shape ``(N, H, W)``; ``labels`` int64). Events come back as tonic-compatible
structured arrays with fields ``x, y, t, p`` (``t`` in microseconds).

:func:`load_split` splits any of them into train, validation and test, as
the CLI and :func:`lava_ff.load_dataset` do.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lava_ff.core.errors import ConfigError, DatasetError
from lava_ff.core.fileio import atomic_path

__all__ = [
    'EVENT_DTYPE', 'NMNIST_SENSOR', 'MNIST_SHA256', 'MNIST_MIRROR', 'DatasetError', 'ImageSet', 'EventSet',
    'read_idx_file', 'load_idx', 'load_mnist', 'load_digits', 'validate_events', 'read_bs2', 'load_nmnist',
    'find_shared_data', 'DATASETS', 'load_split',
]


#: tonic's event dtype for 2-D sensors (``tonic.io.make_structured_array`` order).
EVENT_DTYPE = np.dtype([("x", "<i8"), ("y", "<i8"), ("t", "<i8"), ("p", "<i8")])
#: N-MNIST sensor size (width, height, polarities), as tonic's ``NMNIST.sensor_size``.
NMNIST_SENSOR = (34, 34, 2)

#: sha256 of the *uncompressed* MNIST files (the .gz bytes differ between mirrors).
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_MIRROR = "https://ossci-datasets.s3.amazonaws.com/mnist/"

_IDX_DTYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_SPLIT_PREFIX = {"train": "train", "test": "t10k"}


@dataclass(frozen=True)
class ImageSet:
    """Static images in [0, 1] with integer class labels (or binned event
    spike trains ``(N, F, T)``)."""

    images: np.ndarray  # float32 (N, H, W)
    labels: np.ndarray  # int64 (N,)
    num_classes: int
    name: str

    def __post_init__(self):
        if self.images.ndim != 3:
            raise DatasetError(f"{self.name}: images must be (N, H, W), got {self.images.shape}")
        if len(self.images) != len(self.labels):
            raise DatasetError(
                f"{self.name}: {len(self.images)} images but {len(self.labels)} labels"
            )

    def __len__(self) -> int:
        return len(self.labels)

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.images.shape[1:])

    def subset(self, index, name: str | None = None) -> ImageSet:
        return ImageSet(self.images[index], self.labels[index], self.num_classes,
                        name or self.name)

    def split(self, val_fraction: float = 0.1, seed: int = 0, *, size: int | None = None) -> tuple[ImageSet, ImageSet]:
        """Stratification-free random (train, validation) split of this set:
        ``size`` samples for validation if given, else ``val_fraction`` of them."""
        order = np.random.default_rng(seed).permutation(len(self))
        if size is not None:
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 0 < size < len(self):
                raise ConfigError(f"--val-size {size!r}: give a whole number of samples from 1 to "
                                  f"{len(self) - 1} ({self.name} has {len(self)} training samples)")
            n_val = int(size)
        elif not 0.0 < val_fraction < 1.0:
            raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
        else:
            n_val = max(1, int(round(val_fraction * len(self))))
        return (self.subset(np.sort(order[n_val:]), f"{self.name}[train]"),
                self.subset(np.sort(order[:n_val]), f"{self.name}[val]"))


@dataclass(frozen=True)
class EventSet:
    """Event recordings (tonic structured arrays) with labels."""

    events: list  # list of structured arrays with EVENT_DTYPE
    labels: np.ndarray
    sample_ids: np.ndarray
    sensor_size: tuple[int, int, int]
    num_classes: int
    name: str

    def __len__(self) -> int:
        return len(self.labels)


# --------------------------------------------------------------------------- idx
def _open_bytes(path: Path) -> bytes:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as err:
        raise DatasetError(f"{path}: cannot read ({err})") from err
    if path.suffix == ".gz" or raw[:2] == b"\x1f\x8b":
        try:
            return gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DatasetError(f"{path}: corrupt or truncated gzip data ({err})") from err
    return raw


def read_idx_file(path: str | os.PathLike) -> np.ndarray:
    """Read one idx file (gzipped or not) and check its header against its size."""
    path = Path(path)
    data = _open_bytes(path)
    if len(data) < 4:
        raise DatasetError(f"{path}: {len(data)} bytes is too short for an idx header")
    zero, type_code, ndim = int.from_bytes(data[:2], "big"), data[2], data[3]
    magic = int.from_bytes(data[:4], "big")
    if zero != 0 or type_code not in _IDX_DTYPES or not 1 <= ndim <= 4:
        raise DatasetError(
            f"{path}: wrong idx magic number 0x{magic:08x} (expected 0x0000TTNN with type "
            f"TT in {sorted(hex(k) for k in _IDX_DTYPES)} and 1 <= NN <= 4)"
        )
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{path}: truncated idx header")
    dims = tuple(int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    dtype = _IDX_DTYPES[type_code]
    expected = header + math.prod(dims) * dtype.itemsize  # Python ints: a forged header cannot overflow
    if len(data) != expected:
        what = "truncated" if len(data) < expected else "has trailing bytes"
        raise DatasetError(
            f"{path}: {what}: header says shape {dims} ({expected} bytes) but file has "
            f"{len(data)} bytes"
        )
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(dims).astype(dtype.newbyteorder("="))


def _find_idx(directory: Path, stem: str) -> Path:
    for name in (stem + ".gz", stem, stem.replace("-idx", ".idx")):
        if (directory / name).is_file():
            return directory / name
    raise DatasetError(f"{directory / (stem + '.gz')}: file not found (nor {stem} uncompressed)")


def load_idx(
    path: str | os.PathLike,
    split: str = "train",
    *,
    download: bool = False,
    mirror: str = MNIST_MIRROR,
    name: str | None = None,
) -> ImageSet:
    """Load an MNIST-format split (MNIST, Fashion-MNIST, KMNIST) from ``path``.

    Looks for ``train-images-idx3-ubyte[.gz]`` / ``train-labels-idx1-ubyte[.gz]``
    (``t10k-`` for ``split="test"``). With ``download=True`` missing files are
    fetched from ``mirror`` and their uncompressed content checked against
    :data:`MNIST_SHA256` before they are written (atomically) into ``path``.
    """
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be one of {sorted(_SPLIT_PREFIX)}, got {split!r}")
    directory = Path(path)
    prefix = _SPLIT_PREFIX[split]
    stems = (f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte")
    if download:
        for stem in stems:
            _download_idx(directory, stem, mirror)
    if not directory.is_dir():
        raise DatasetError(f"{directory}: dataset directory not found")
    img_path, lbl_path = (_find_idx(directory, s) for s in stems)
    images, labels = read_idx_file(img_path), read_idx_file(lbl_path)
    if images.ndim != 3:
        raise DatasetError(f"{img_path}: expected a 3-D image array, got shape {images.shape}")
    if labels.ndim != 1:
        raise DatasetError(f"{lbl_path}: expected a 1-D label array, got shape {labels.shape}")
    if len(images) != len(labels):
        raise DatasetError(
            f"{img_path} has {len(images)} images but {lbl_path} has {len(labels)} labels"
        )
    if images.dtype != np.uint8:
        raise DatasetError(f"{img_path}: expected uint8 pixels, got {images.dtype}")
    if labels.dtype.kind not in "iu":
        raise DatasetError(f"{lbl_path}: labels must be integers, got {labels.dtype} (e.g. {labels[:1].tolist()})")
    if len(labels) and labels.min() < 0:
        raise DatasetError(f"{lbl_path}: label {int(labels.min())} at index {int(labels.argmin())} is negative")
    num_classes = int(labels.max()) + 1 if len(labels) else 0
    return ImageSet(images.astype(np.float32) / 255.0, labels.astype(np.int64), max(num_classes, 10),
                    name or f"{directory.name}:{split}")


def load_mnist(path: str | os.PathLike, split: str = "train", *, download: bool = False,
               mirror: str = MNIST_MIRROR) -> ImageSet:
    """MNIST from a directory of the four standard idx files (see :func:`load_idx`)."""
    return load_idx(path, split, download=download, mirror=mirror, name=f"mnist:{split}")


def _download_idx(directory: Path, stem: str, mirror: str) -> None:
    if any((directory / n).is_file() for n in (stem, stem + ".gz")):
        return
    directory.mkdir(parents=True, exist_ok=True)
    url = mirror.rstrip("/") + "/" + stem + ".gz"
    try:
        with urllib.request.urlopen(url, timeout=60) as response:  # noqa: S310 (https/http mirror)
            payload = response.read()
    except OSError as err:
        raise DatasetError(f"{url}: download failed ({err})") from err
    try:
        content = gzip.decompress(payload)
    except (OSError, EOFError, zlib.error) as err:
        raise DatasetError(f"{url}: downloaded file is not valid gzip ({err})") from err
    expected = MNIST_SHA256.get(stem)
    digest = hashlib.sha256(content).hexdigest()
    if expected is not None and digest != expected:
        raise DatasetError(f"{url}: checksum mismatch: sha256 {digest}, expected {expected}")
    with atomic_path(directory / (stem + ".gz"), suffix=".part") as tmp:
        tmp.write_bytes(payload)


# ------------------------------------------------------------------------ digits
def load_digits() -> ImageSet:
    """scikit-learn's 8x8 digits (1797 samples), shipped inside scikit-learn."""
    from sklearn.datasets import load_digits as _sk_digits

    bunch = _sk_digits()
    images = (bunch.images / 16.0).astype(np.float32)
    return ImageSet(images, bunch.target.astype(np.int64), 10, "digits")


# ----------------------------------------------------------------------- N-MNIST
def validate_events(events: np.ndarray, sensor_size, source: str, *, sort: bool = True) -> np.ndarray:
    """Check an event array against a sensor; return it time-sorted.

    Raises :class:`DatasetError` naming ``source`` for an empty recording,
    coordinates or polarities outside ``sensor_size`` or negative timestamps.
    Unsorted timestamps are *documented behaviour*: the events are stably
    sorted by ``t`` (``sort=False`` raises instead).
    """
    width, height, polarities = sensor_size
    if len(events) == 0:
        raise DatasetError(f"{source}: empty recording (no events)")
    for field, hi in (("x", width), ("y", height), ("p", polarities)):
        values = events[field]
        bad = (values < 0) | (values >= hi)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise DatasetError(
                f"{source}: event {i} has {field}={int(values[i])} outside the sensor "
                f"(0 <= {field} < {hi}, sensor_size={tuple(sensor_size)})"
            )
    if (events["t"] < 0).any():
        i = int(np.flatnonzero(events["t"] < 0)[0])
        raise DatasetError(f"{source}: event {i} has negative timestamp t={int(events['t'][i])}")
    if np.any(np.diff(events["t"]) < 0):
        if not sort:
            raise DatasetError(f"{source}: timestamps are not sorted")
        events = events[np.argsort(events["t"], kind="stable")]
    return events


def read_bs2(path: str | os.PathLike, sensor_size=NMNIST_SENSOR) -> np.ndarray:
    """Read one N-MNIST binary recording (5 bytes per event) into a structured array.

    Layout (Orchard et al. 2015): byte 0 = x, byte 1 = y, bit 7 of byte 2 =
    polarity, the remaining 23 bits (byte 2 low 7 bits, bytes 3, 4) = time in us.
    """
    path = Path(path)
    try:
        raw = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise DatasetError(f"{path}: file not found") from None
    except OSError as err:  # a directory, a symlink loop, no permission
        raise DatasetError(f"{path}: cannot read ({err.strerror or err})") from None
    if raw.size % 5:
        raise DatasetError(
            f"{path}: truncated or corrupt: {raw.size} bytes is not a whole number of "
            "5-byte events"
        )
    raw = raw.reshape(-1, 5).astype(np.int64)
    events = np.empty(len(raw), dtype=EVENT_DTYPE)
    events["x"], events["y"] = raw[:, 0], raw[:, 1]
    events["p"] = raw[:, 2] >> 7
    events["t"] = ((raw[:, 2] & 0x7F) << 16) | (raw[:, 3] << 8) | raw[:, 4]
    return validate_events(events, sensor_size, str(path))


def _read_label_list(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if not path.is_file():
        raise DatasetError(f"{path}: label list not found")
    try:
        text = path.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as err:
        raise DatasetError(f"{path}: not a text label list ({type(err).__name__}: {err})") from None
    ids, labels = [], []
    for lineno, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) != 2 or not all(p.isdigit() for p in parts):
            raise DatasetError(f"{path}:{lineno}: expected '<sample id>\\t<class>', got {line!r}")
        sample, label = int(parts[0]), int(parts[1])
        if not 0 <= label <= 9:
            raise DatasetError(f"{path}:{lineno}: class {label} outside 0..9")
        ids.append(sample)
        labels.append(label)
    if not ids:
        raise DatasetError(f"{path}: label list is empty")
    return np.asarray(ids, dtype=np.int64), np.asarray(labels, dtype=np.int64)


def load_nmnist(path: str | os.PathLike, split: str = "train", *, limit: int | None = None) -> EventSet:
    """N-MNIST recordings laid out as ``<id>.bs2`` files plus a label list.

    The label list is ``train1K.txt`` / ``test100.txt`` (``#sample #class``);
    for other layouts, a ``train.txt`` / ``test.txt`` in the same format.
    """
    directory = Path(path)
    if not directory.is_dir():
        raise DatasetError(f"{directory}: N-MNIST directory not found")
    if split not in _SPLIT_PREFIX:
        raise ValueError(f"split must be one of {sorted(_SPLIT_PREFIX)}, got {split!r}")
    candidates = {"train": ("train1K.txt", "train.txt"), "test": ("test100.txt", "test.txt")}[split]
    lists = [directory / c for c in candidates if (directory / c).is_file()]
    if not lists:
        raise DatasetError(f"{directory}: no label list ({' or '.join(candidates)}) found")
    ids, labels = _read_label_list(lists[0])
    if limit is not None:
        ids, labels = ids[:limit], labels[:limit]
    events = [read_bs2(directory / f"{i}.bs2") for i in ids]
    return EventSet(events, labels, ids, NMNIST_SENSOR, 10, f"nmnist:{split}")


def find_shared_data(name: str = "", start: str | os.PathLike | None = None) -> Path | None:
    """The shared data folder ``shared/data/<name>`` if it exists here, else ``None``.

    Looks at ``$LAVA_FF_DATA`` first, then for ``shared/data`` beside every
    parent of ``start`` (default: the working directory), so the project
    root (``../shared/data``) and its ``tutorials/`` folder both find it.
    Never downloads.
    """
    candidates = []
    if os.environ.get("LAVA_FF_DATA"):
        candidates.append(Path(os.environ["LAVA_FF_DATA"]))
    here = Path(start or Path.cwd()).resolve()
    candidates += [parent / "shared" / "data" for parent in (here, *here.parents)]
    for base in candidates:
        folder = base / name
        if folder.is_dir():
            return folder
    return None

DATASETS = ("digits", "mnist", "fashion-mnist", "nmnist", "idx")


def _check_test_split(train: ImageSet, test: ImageSet, where: str) -> None:
    """The test split has the training split's sample shape and only its classes (before any training)."""
    if test.shape != train.shape:
        raise DatasetError(f"{where}: test samples have shape {test.shape}, training samples {train.shape}")
    labels = np.asarray(test.labels)
    outside = np.flatnonzero((labels < 0) | (labels >= train.num_classes))
    if outside.size:
        raise DatasetError(f"{where}: test label {int(labels[outside[0]])} at index {int(outside[0])} is not one "
                           f"of the training split's {train.num_classes} classes 0-{train.num_classes - 1}")


def load_split(dataset: str, data: str | None, seed: int, val_fraction: float = 0.1,
               time_steps: int = 10, val_size: int | None = None):
    """(train, val, test, image_shape): ``val_size`` training samples (else
    ``val_fraction`` of them) held out for validation, drawn with ``seed``.
    N-MNIST comes as binned spike trains ``[N, F, T]`` (``image_shape`` is
    then ``(F, T)``)."""
    from lava_ff.core.inputs import bin_events

    if dataset == "digits":
        full = load_digits()
        rest, test = full.split(0.2, seed=1234)  # fixed test split, never tuned on
    elif dataset in ("mnist", "fashion-mnist", "idx"):
        if not data:
            raise ConfigError(f"--dataset {dataset} needs --data DIR (a folder of idx files)")
        rest, test = load_idx(data, "train"), load_idx(data, "test")
    elif dataset == "nmnist":
        if not data:
            raise ConfigError("--dataset nmnist needs --data DIR (e.g. ../shared/data/nmnist-small)")
        tr, te = load_nmnist(data, "train"), load_nmnist(data, "test")

        def spike_trains(es):
            # events binned into time_steps binary frames: [N, W*H*P, T], fed as spikes
            trains = np.stack([bin_events(e, es.sensor_size, time_steps) for e in es.events])
            return ImageSet(trains.astype(np.float32), es.labels, 10, es.name)

        rest, test = spike_trains(tr), spike_trains(te)
    else:
        raise ConfigError(f"unknown dataset {dataset!r}; valid: {', '.join(DATASETS)}")
    _check_test_split(rest, test, data or dataset)
    train, val = rest.split(val_fraction, seed=seed, size=val_size)
    return train, val, test, rest.shape
