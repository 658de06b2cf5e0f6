"""A study's log in this process's memory: for simulations and tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from byohpo.study._events import Event, StrategyCheckpoint, as_event
from byohpo.study._reading import Reading


class MemoryEventLog:
    """The log kept in this process's memory: not durable, gone when the process ends.

    A study on :class:`~byohpo.simulator.Simulator` records tens of thousands of
    events in seconds; an fsync'd file would take longer than the simulation, and so
    would turning each event into JSON and back, so events are kept as given. Only
    the latest strategy checkpoint is kept (the one a replay restores).
    """

    def __init__(self, location: str = "memory") -> None:
        self.location = location
        self._events: list[Event | None] = []
        self._last_checkpoint: int | None = None

    def exists(self) -> bool:
        return bool(self._events)

    def append(self, events: Sequence[Event | Mapping[str, Any]]) -> int:
        """Keep the events; returns 0 (no bytes are written)."""
        for given in events:
            event = as_event(given)
            if isinstance(event, StrategyCheckpoint):
                if self._last_checkpoint is not None:
                    self._events[self._last_checkpoint] = None
                self._last_checkpoint = len(self._events)
            self._events.append(event)
        return 0

    def read(self) -> Reading:
        return Reading([e for e in self._events if e is not None])
