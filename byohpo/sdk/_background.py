"""A tuning job run in the background (``fit(wait=False)``): waited for, or stopped.

The study runs in a daemon thread on a clock whose next sleep, once a stop was
asked, ends the run as Ctrl-C with "stop the jobs" would: the loop stops its
jobs (or SageMaker's tuning job) and records it. An error of the run is raised
by :meth:`BackgroundRun.wait`, in the caller's thread.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.study._tuner import Tuner


class StopWhenAsked:
    """The study's clock, whose next sleep after :meth:`BackgroundRun.stop` interrupts the
    run. Thread-safe: the request is one event."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self.stop_requested = threading.Event()

    def now(self) -> float:
        return self._clock.now()

    def sleep(self, seconds: float) -> None:
        if self.stop_requested.wait(timeout=0):
            raise KeyboardInterrupt("stop_tuning_job()")
        self._clock.sleep(seconds)


class BackgroundRun:
    """``tuner.run()`` in a daemon thread; ``clock`` is the tuner's :class:`StopWhenAsked`."""

    def __init__(self, tuner: Tuner, clock: StopWhenAsked) -> None:
        self._tuner = tuner
        self._clock = clock
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._tuner.run()
        except BaseException as exc:  # handed to wait()
            self._error = exc

    @property
    def is_running(self) -> bool:
        return self._thread.is_alive()

    def wait(self) -> None:
        """Wait for the run's end; raise its error, if it ended with one."""
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def stop(self) -> None:
        """Stop the jobs in flight and launch no more; the run then ends."""
        self._tuner.on_interrupt = "stop"
        self._clock.stop_requested.set()
