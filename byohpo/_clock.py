"""Time, injected: the tuner never calls ``time`` directly, so it can run in virtual time.

A clock gives two times: ``now()``, a timestamp (seconds since the Unix epoch, what
events record and what SageMaker's times compare with), and ``monotonic()``, which
only ever moves forward and is what intervals are measured with, so a step of the
system clock backwards cannot stall polling or pacing. Clocks written before
``monotonic`` existed still work: :func:`monotonic_time` falls back to ``now()``.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds since the Unix epoch (a timestamp), and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class WallClock:
    """Real time: ``time.time()`` for timestamps, ``time.monotonic()`` for intervals,
    ``time.sleep()`` to wait."""

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)


VIRTUAL_EPOCH = 1_767_225_600.0
"""2026-01-01T00:00:00Z: where a :class:`VirtualClock` starts unless told otherwise."""


class VirtualClock:
    """Simulated time: ``sleep`` moves ``now`` forward at once, without waiting.

    Deterministic (it starts at :data:`VIRTUAL_EPOCH` by default, not at the
    real time), so a simulation gives the same timestamps on every run.
    ``sleep`` of zero or a negative number of seconds does nothing.
    """

    def __init__(self, start: float = VIRTUAL_EPOCH) -> None:
        self._now = float(start)

    def now(self) -> float:
        return self._now

    def monotonic(self) -> float:
        """Virtual time never steps back: the same as :meth:`now`."""
        return self._now

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds


def monotonic_time(clock: Clock) -> float:
    """The clock's monotonic time: ``clock.monotonic()``, or ``clock.now()`` for a clock
    that has no monotonic time of its own."""
    monotonic = getattr(clock, "monotonic", None)
    return float(monotonic()) if callable(monotonic) else clock.now()
