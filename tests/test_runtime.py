"""The safe-run helper: a crash in a connected network becomes an exception, fast."""

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

PROCS = Path(__file__).parent / "lava_procs"

SCRIPT = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {procs!r})
    from crashing.process import Sink, Source
    from lava.magma.core.run_configs import Loihi2SimCfg
    from lava_ff.lava.runtime import LavaModelError, lava_session
    source, sink = Source(), Sink(crash_at={crash_at})
    source.s_out.connect(sink.a_in)
    start = time.monotonic()
    try:
        with lava_session(sink, Loihi2SimCfg(select_tag="floating_pt")) as session:
            session.run(5)
            print("TOTAL", sink.total.get().tolist())
    except LavaModelError as err:
        print("CAUGHT %.2f" % (time.monotonic() - start))
        print(err)
""")


def _run(crash_at: int, timeout: float = 10.0):
    code = SCRIPT.format(procs=str(PROCS), crash_at=crash_at)
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=timeout)
    return result, time.monotonic() - start


@pytest.mark.lava
def test_crash_in_connected_network_raises_with_child_traceback():
    # A hang here would hit the 10 s subprocess timeout and fail the test.
    result, seconds = _run(crash_at=3)
    assert result.returncode == 0, result.stderr
    assert "CAUGHT" in result.stdout
    assert "ZeroDivisionError: deliberate crash at step 3" in result.stdout
    assert "run_spk" in result.stdout  # the child's traceback, not just a message
    caught_after = float(result.stdout.split("CAUGHT")[1].split()[0])
    assert caught_after < 2.0
    assert seconds < 10.0  # including interpreter exit: nothing left hanging


@pytest.mark.lava
def test_healthy_network_runs_and_stops():
    result, _ = _run(crash_at=-1)
    assert result.returncode == 0, result.stderr
    # The source sends ones every step; 5 steps accumulate 5 in every element.
    assert "TOTAL [5.0, 5.0, 5.0]" in result.stdout


@pytest.mark.lava
def test_run_rejects_bad_step_counts():
    from lava_ff.lava.runtime import LavaSession

    session = LavaSession(process=None, run_cfg=None)
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="num_steps"):
            session.run(bad)


def test_atomic_writes_get_the_mode_a_new_file_gets(tmp_path):
    """An atomically written file has the permissions ``open`` gives a new
    file under the same umask, not the temporary file's 0600."""
    import os

    from lava_ff.core.fileio import atomic_path

    old = os.umask(0o022)
    try:
        with atomic_path(tmp_path / "model.net") as tmp:
            tmp.write_bytes(b"x")
        with open(tmp_path / "plain", "w"):
            pass
    finally:
        os.umask(old)
    assert (tmp_path / "model.net").stat().st_mode & 0o777 == (tmp_path / "plain").stat().st_mode & 0o777 == 0o644
