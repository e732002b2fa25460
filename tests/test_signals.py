"""Signals during Lava runs: the command exits soon with 128 + the signal,
no process of its group survives, and no shared-memory segment it made is
left behind, whether the signal reaches the whole process group (a
terminal's Ctrl-C, ``kill -- -PGID``) or the parent alone (``timeout``,
``kill PID``)."""

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SHM = Path("/dev/shm")


def _default_sigint() -> None:
    """In the child before it starts: Ctrl-C's default action, as a terminal's
    command gets. A runner started in the background (``cmd &`` without job
    control) ignores SIGINT, and its children would inherit that."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)

#: what the tests allow a run to take from the signal to its exit; the runs here take under 1 s
EXIT_WITHIN_SECONDS = 5.0

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not SHM.is_dir(),
                                reason="process groups and /dev/shm as on Linux")


@pytest.fixture(scope="module")
def wide_model(tmp_path_factory):
    """A digits model wide enough (1000-1000) that Lava runs take seconds, not milliseconds."""
    out = tmp_path_factory.mktemp("signals") / "run"
    done = subprocess.run([sys.executable, "-m", "lava_ff", "train", "--layers", "1000,1000", "--epochs", "1",
                           "--limit", "100", "--no-progress", "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    return out


def _group(pgid: int) -> list[str]:
    """``"PID STATE COMMAND"`` of every live process of group ``pgid`` (zombies, reaped by init, excluded)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.getpgid(int(entry.name)) != pgid:
                    continue
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:100]
            except (ProcessLookupError, FileNotFoundError):
                continue
            if state != "Z":
                found.append(f"{entry.name} {state} {command}")
    return found


def _segments() -> set[str]:
    return {p.name for p in SHM.glob("psm_*")}


def _signals_held_off(pid: int) -> int:
    """The signals process ``pid`` blocks or ignores, as a mask of bit ``signum - 1``."""
    fields = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                  if ":\t" in line)
    return int(fields["SigBlk"], 16) | int(fields["SigIgn"], 16)


def _interrupt(args: list[str], signum: int, target: str, cwd: Path) -> dict:
    """Start ``lava-ff args`` in a session of its own, wait until its Lava
    children run, send ``signum`` to the group or the parent, and measure.
    ``trackers`` holds, for each resource-tracker process of the group just
    before the signal, the signals it blocks or ignores."""
    before = _segments()
    proc = subprocess.Popen([sys.executable, "-m", "lava_ff", *args], cwd=cwd, start_new_session=True,
                            preexec_fn=_default_sigint,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while len(_group(proc.pid)) < 4:  # the parent, the managers and Lava's children
            assert proc.poll() is None, f"finished before Lava ran: {proc.stderr.read()[-2000:]}"
            assert time.monotonic() < deadline, "Lava never started"
            time.sleep(0.05)
        time.sleep(1.0)  # well inside the run
        assert proc.poll() is None, "the run ended before the signal; make it longer"
        trackers = [_signals_held_off(int(line.split()[0])) for line in _group(proc.pid)
                    if "resource_tracker" in line]
        sent = time.monotonic()
        if target == "group":
            os.killpg(proc.pid, signum)
        else:
            os.kill(proc.pid, signum)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            pytest.fail(f"still running 60 s after {signal.Signals(signum).name} to the {target}")
        seconds = time.monotonic() - sent
        time.sleep(1.0)
        return {"returncode": proc.returncode, "seconds": seconds, "survivors": _group(proc.pid), "trackers": trackers,
                "leaked": _segments() - before, "stderr": proc.stderr.read()}
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        for line in _group(proc.pid):
            os.kill(int(line.split()[0]), signal.SIGKILL)


def _assert_clean(result: dict, signum: int) -> None:
    assert result["returncode"] == 128 + signum, result["stderr"][-2000:]
    assert result["seconds"] < EXIT_WITHIN_SECONDS
    assert result["survivors"] == [] and result["leaked"] == set()
    last = result["stderr"].strip().splitlines()[-1]
    assert last.startswith("lava-ff: interrupted by") or last.startswith("interrupted:"), result["stderr"][-2000:]
    assert "Traceback" not in result["stderr"]
    assert "resource_tracker" not in result["stderr"]


SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]
TARGETS = ["group", "parent"]


def _ids(value):
    return value.name[3:] if isinstance(value, signal.Signals) else value


@pytest.mark.lava
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("signum", SIGNALS, ids=_ids)
def test_a_signal_during_a_lava_evaluate_ends_it_cleanly(wide_model, tmp_path, signum, target):
    result = _interrupt(["evaluate", "--model", str(wide_model), "--backend", "lava-fixed", "--no-progress"],
                        signum, target, tmp_path)
    _assert_clean(result, signum)


@pytest.mark.lava
def test_the_resource_tracker_outlives_a_hangup_to_the_group(wide_model, tmp_path):
    """multiprocessing's tracker ignores SIGINT and SIGTERM so that it can
    release what a killed run left; SIGHUP must not kill it either, or the
    teardown restarts it with a warning (which, under load, came last)."""
    result = _interrupt(["evaluate", "--model", str(wide_model), "--backend", "lava-fixed", "--no-progress"],
                        signal.SIGINT, "group", tmp_path)
    _assert_clean(result, signal.SIGINT)
    assert len(result["trackers"]) == 1, result["trackers"]
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        assert result["trackers"][0] & (1 << (signum - 1)), signal.Signals(signum).name


@pytest.fixture(scope="module")
def wide_net(wide_model, tmp_path_factory):
    net = tmp_path_factory.mktemp("signals_netx") / "wide.net"
    subprocess.run([sys.executable, "-m", "lava_ff", "export", "--model", str(wide_model), "--out", str(net)],
                   check=True, capture_output=True)
    return net


@pytest.mark.lava
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("signum", SIGNALS, ids=_ids)
def test_a_signal_during_a_netx_evaluate_ends_it_cleanly(wide_net, tmp_path, signum, target):
    result = _interrupt(["evaluate", "--model", str(wide_net), "--dataset", "digits", "--backend", "netx-fixed",
                         "--no-progress"], signum, target, tmp_path)
    _assert_clean(result, signum)


@pytest.mark.lava
@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("signum", SIGNALS, ids=_ids)
def test_a_signal_during_onchip_training_ends_it_cleanly(tmp_path, signum, target):
    result = _interrupt(["train", "--backend", "lava-fixed", "--layers", "1000,1000", "--epochs", "3",
                         "--samples-per-run", "2000", "--no-progress", "--out", str(tmp_path / "onchip")],
                        signum, target, tmp_path)
    # the on-chip command says what it saved (here: nothing, before its first chunk) and exits 130
    assert result["returncode"] in (130, 128 + signum), result["stderr"][-2000:]
    assert result["seconds"] < EXIT_WITHIN_SECONDS
    assert result["survivors"] == [] and result["leaked"] == set()
    assert "Traceback" not in result["stderr"] and "nothing was saved" in result["stderr"]
    assert not (tmp_path / "onchip" / "onchip_state.npz").exists()


def test_ctrl_c_in_the_evaluation_suite_writes_what_finished_and_exits_130(tmp_path):
    """The suite's Ctrl-C: no traceback, exit 130, and the report of the runs that finished (here none)."""
    root = Path(__file__).resolve().parents[1]
    out = tmp_path / "suite"
    proc = subprocess.Popen([sys.executable, str(root / "benchmarks" / "suite.py"), "--methods",
                             "ff-three-factor,ff-surrogate", "--datasets", "digits", "--layers", "60", "--epochs",
                             "100000", "--patience", "100000", "--no-progress", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
                            preexec_fn=_default_sigint)
    # signal once the first method is training (its second epoch), however fast this machine is
    seen = []
    started = threading.Event()

    def watch():
        for line in proc.stderr:
            seen.append(line)
            if line.startswith("epoch 2/"):
                started.set()
        started.set()

    reader = threading.Thread(target=watch, daemon=True)
    reader.start()
    assert started.wait(120) and proc.poll() is None, "".join(seen)[-2000:]
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=60)
    reader.join(timeout=10)
    stderr = "".join(seen)
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr and "suite: interrupted; no run had finished, nothing was written" in stderr
    assert not out.exists()
