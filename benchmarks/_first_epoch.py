"""Run a training command until its first epoch record, then stop it (shared by the benchmarks)."""

from __future__ import annotations

import json
import subprocess
import time


def first_epoch(cmd: list[str], *, env: dict | None = None, cwd=None) -> dict:
    """Start ``cmd`` (a ``lava-ff train ... --json`` command), read its
    stdout until the epoch-1 record, stop it, and return the record with
    the wall time to it (``wall_seconds``, start-up and data loading included)."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd, env=env,
                            start_new_session=True)
    record = None
    try:
        for line in proc.stdout:
            if line.startswith("{") and '"epoch": 1' in line:
                record = json.loads(line)
                break
    finally:
        import os
        import signal

        try:
            os.killpg(proc.pid, signal.SIGKILL)  # torchrun's workers too
        except ProcessLookupError:
            pass
        proc.wait()
    if record is None:
        raise SystemExit(f"{' '.join(cmd)}: ended before its first epoch:\n{proc.stderr.read()[-2000:]}")
    return {**record, "wall_seconds": time.perf_counter() - start}
