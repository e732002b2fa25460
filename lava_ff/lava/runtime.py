"""Safe Lava runs: always stopped, and a crashing ProcessModel becomes an exception.

lava-nc 0.10.0 behaviour this module works around (measured): when a
ProcessModel of a *connected* network raises, ``run()`` blocks forever
(its neighbours wait on a port that will never be written), ``stop()`` then
blocks too, running again after ``stop()`` can segfault, and an interpreter
that exits without ``stop()`` hangs joining the non-daemonic children.

:func:`run_network` starts every run non-blocking and watches the children
itself: Lava's ``SystemProcess`` sends a child's traceback down a pipe, so a
crash is seen within one poll interval. A crashed network is then torn down
by force (children killed, shared memory released) instead of through the
blocking ``stop()``, and a :class:`LavaModelError` carrying the child's
traceback is raised.

Use :func:`lava_session` so that a network is stopped on every path::

    with lava_session(net, Loihi2SimCfg(select_tag="fixed_pt")) as session:
        session.run(num_steps)
        spikes = monitor.get_data()
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from dataclasses import dataclass, field
from multiprocessing import resource_tracker, shared_memory

from lava_ff.core.errors import LavaRunError

__all__ = ["LavaInterrupted", "STOP_SIGNALS", "LavaModelError", "LavaRunTimeout", "LavaSession", "lava_session",
           "run_network"]



class LavaModelError(LavaRunError):
    """A ProcessModel raised inside its Lava child process."""

    def __init__(self, tracebacks: list[str]):
        self.tracebacks = tracebacks
        body = "\n".join(tracebacks) if tracebacks else "(no traceback was sent)"
        super().__init__(f"{len(tracebacks) or 'a'} Lava ProcessModel(s) crashed:\n{body}")


class LavaRunTimeout(LavaRunError, TimeoutError):
    """A Lava run did not finish within its time limit."""


@dataclass
class LavaSession:
    """One compiled Lava network with a guaranteed, never-hanging shutdown."""

    process: object
    run_cfg: object
    poll_interval: float = 0.002
    timeout: float | None = None
    _started: bool = field(default=False, init=False)
    _broken: bool = field(default=False, init=False)

    # ------------------------------------------------------------------ running
    def run(self, num_steps: int) -> None:
        """Run ``num_steps`` time steps; raise :class:`LavaModelError` on a crash."""
        from lava.magma.core.run_conditions import RunSteps

        if self._broken:
            raise RuntimeError("this Lava network crashed earlier and was torn down")
        if isinstance(num_steps, bool) or not isinstance(num_steps, int) or num_steps < 1:
            raise ValueError(f"num_steps must be a positive int, got {num_steps!r}")
        condition = RunSteps(num_steps=num_steps, blocking=False)
        if self._started:
            self.process.run(condition=condition, run_cfg=self.run_cfg)
        else:
            # the first run forks Lava's children: they inherit a handler that only notes a signal, so a
            # terminal's Ctrl-C (sent to the whole group) leaves them to the parent's teardown
            with _deferred_signals() as pending:
                self.process.run(condition=condition, run_cfg=self.run_cfg)
                self._started = True
            if pending:
                raise KeyboardInterrupt() if pending[0] == signal.SIGINT else LavaInterrupted(pending[0])
        self._wait()

    def run_samples(self, num_samples: int, steps_per_sample: int, *, samples_per_run: int = 100,
                    tail_steps: int = 0, progress: bool = True, desc: str = "lava", initial: int = 0,
                    unit: str = "sample") -> None:
        """Run ``num_samples`` samples of ``steps_per_sample`` steps in chunks of
        ``samples_per_run`` (one ``run()`` call each, about 1 ms of overhead)
        under a progress bar; ``tail_steps`` more steps after the last chunk
        flush a pipeline's latency. ``initial`` samples already ran."""
        from lava_ff.core.progress import tqdm

        with tqdm(total=initial + num_samples, initial=initial, desc=desc, unit=unit,
                  disable=not progress, leave=False) as bar:
            done = 0
            while done < num_samples:
                chunk = min(samples_per_run, num_samples - done)
                done += chunk
                self.run(chunk * steps_per_sample + (tail_steps if done == num_samples else 0))
                bar.update(chunk)

    @property
    def runtime(self):
        return self.process.runtime

    def _actors(self):
        return list(self.runtime._messaging_infrastructure.actors)

    def _crashed(self) -> list[str]:
        tracebacks = []
        for actor in self._actors():
            exc = actor.exception
            if exc:
                tracebacks.append(exc[1] if isinstance(exc, tuple) else repr(exc))
            elif not actor._is_done and actor.exitcode not in (None, 0):
                tracebacks.append(f"{actor.name} died with exit code {actor.exitcode}")
        return tracebacks

    def _wait(self) -> None:
        runtime = self.runtime
        deadline = None if self.timeout is None else time.monotonic() + self.timeout
        ports = runtime.service_to_runtime
        while not all(port.probe() for port in ports):
            tracebacks = self._crashed()
            if tracebacks:
                self._teardown()
                raise LavaModelError(tracebacks)
            if deadline is not None and time.monotonic() > deadline:
                self._teardown()
                raise LavaRunTimeout(f"Lava run exceeded {self.timeout} s and was torn down")
            time.sleep(self.poll_interval)
        try:
            runtime.wait()  # every response is in: this returns at once
        except RuntimeError:
            tracebacks = self._crashed()
            self._teardown()
            raise LavaModelError(tracebacks) from None

    # ----------------------------------------------------------------- shutdown
    def stop(self) -> None:
        """Stop the network; never hangs, also after a crash."""
        if not self._started or self._broken:
            return
        tracebacks = self._crashed()
        if tracebacks:
            self._teardown()
            raise LavaModelError(tracebacks)
        try:
            self.process.stop()
        finally:
            self._started = False

    def _teardown(self) -> None:
        """Kill every child of a broken network and release its shared memory."""
        self._broken = True
        runtime = self.runtime
        for actor in self._actors():
            with contextlib.suppress(Exception):
                if actor.is_alive():
                    actor.kill()
                actor.join()  # reaps the child and reads its pipe; it is dead, so no wait
        infrastructure = runtime._messaging_infrastructure
        segments = []
        with contextlib.suppress(Exception):
            segments = [handle.name for handle in infrastructure.smm._shared_memory_handles]
        with contextlib.suppress(Exception):
            infrastructure.smm.shutdown()
        # a manager that a signal to the whole group killed (SIGTERM, SIGHUP) released none of them
        for name in segments:
            with contextlib.suppress(Exception):
                leftover = shared_memory.SharedMemory(name=name)
                leftover.close()
                leftover.unlink()
        with contextlib.suppress(Exception):
            runtime._watchdog_manager.stop()
        runtime._is_running = False
        runtime._is_started = False


class LavaInterrupted(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived during a Lava run (SIGINT raises
    ``KeyboardInterrupt`` itself): the run was torn down, no child left."""

    def __init__(self, signum: int):
        self.signum = signum
        super().__init__(f"{signal.Signals(signum).name} during a Lava run")


#: signals that end a Lava run cleanly instead of killing the parent and orphaning its children
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def _signals_interrupt():
    """While a Lava network runs, SIGTERM and SIGHUP raise
    :class:`LavaInterrupted` in the main thread (their default would kill
    the parent at once, leaving the children and the shared memory behind);
    the previous handlers come back afterwards. Elsewhere than in the main
    thread Python cannot set handlers, and nothing changes."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise LavaInterrupted(signum)

    previous = {signum: signal.signal(signum, interrupt) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@contextlib.contextmanager
def _deferred_signals():
    """Note SIGINT, SIGTERM and SIGHUP in the yielded list instead of acting
    on them, and restore the previous handlers afterwards (main thread only)."""
    pending: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield pending
        return
    previous = {signum: signal.signal(signum, lambda signum, frame: pending.append(signum))
                for signum in (signal.SIGINT, *STOP_SIGNALS)}
    try:
        yield pending
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _tracker_outlives_hangups() -> None:
    """Start multiprocessing's resource tracker, unless it runs already, with
    SIGHUP blocked for good. The tracker ignores SIGINT and SIGTERM itself so
    that it outlives a signal to the whole group and releases what a killed
    child left; a hangup (a closed terminal, ``kill -HUP -- -PGID``) would
    kill it instead, and the teardown's release of the segments would then
    restart it with a warning. Lava's children are forked after this, so they
    share this tracker. SIGHUP is blocked in the parent only while the tracker
    is spawned: one that arrives then is delivered afterwards, not lost."""
    if threading.current_thread() is not threading.main_thread():
        return
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        resource_tracker.ensure_running()
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)


@contextlib.contextmanager
def lava_session(process, run_cfg, *, timeout: float | None = None):
    """Context manager yielding a :class:`LavaSession`; stops it on every path.

    Leaving normally stops the network as Lava does. Leaving on an exception
    (Ctrl-C, SIGTERM or SIGHUP included) tears it down by force instead: the
    children killed and the shared memory released, never Lava's ``stop()``,
    which blocks forever once a child has died (a terminal's Ctrl-C reaches
    the children too)."""
    session = LavaSession(process, run_cfg, timeout=timeout)
    _tracker_outlives_hangups()
    with _signals_interrupt():
        try:
            yield session
        except BaseException:
            if session._started and not session._broken:
                session._teardown()
            raise
        if session._started and not session._broken:
            try:
                session.stop()
            except LavaModelError:
                pass  # a child crashed after the last run: the results were read already


def run_network(process, num_steps: int, run_cfg, *, timeout: float | None = None) -> None:
    """Run ``process``'s network for ``num_steps`` and stop it, whatever happens."""
    with lava_session(process, run_cfg, timeout=timeout) as session:
        session.run(num_steps)
