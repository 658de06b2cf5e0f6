"""Time, injected: the tuner never calls ``time`` directly, so it can run in virtual time."""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """Seconds since an arbitrary epoch, and a way to wait."""

    def now(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...


class WallClock:
    """Real time: ``time.time()`` and ``time.sleep()``."""

    def now(self) -> float:
        return time.time()

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

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self._now += seconds
