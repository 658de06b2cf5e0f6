"""The study's memory: an append-only log of typed events, and the state it replays to.

The tuner writes an event *before* it acts on it (a trial is recorded as planned
before its job is created), so after a crash the log says everything that may have
been launched. The events are in :mod:`byohpo.study._events`; the state and the one
function that applies an event to it in :mod:`byohpo.study._state`.

Where the log lives:

- a local directory (the default): ``events.jsonl``, appended under an OS-level lock
  (:mod:`byohpo.study._local_log`);
- ``s3://bucket/prefix``: append-only segments written with conditional puts
  (:mod:`byohpo.study._s3_log`), for a run inside a SageMaker job or pipeline step;
- :class:`MemoryEventLog`: in memory, for simulations.

Anyone may record events with :meth:`Store.record` (an :class:`~byohpo.study._events.Event`,
or its JSON object, which is checked); a trial whose job someone else created is a
:class:`~byohpo.study._events.TrialAdopted` event.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from byohpo.study._events import FORMAT_VERSION, Event, as_event, encode
from byohpo.study._local_log import LOG_NAME, LocalEventLog
from byohpo.study._memory_log import MemoryEventLog
from byohpo.study._reading import Damage, Reading
from byohpo.study._s3_log import S3EventLog
from byohpo.study._state import StudyLog, TrialRecord, apply, replay

DEFAULT_STUDIES_DIR = "byohpo-studies"


def studies_dir() -> Path:
    """Where studies are kept by default: ``$BYOHPO_STUDIES`` or ``./byohpo-studies``."""
    return Path(os.environ.get("BYOHPO_STUDIES", DEFAULT_STUDIES_DIR))


def study_location(study: str | os.PathLike[str]) -> str:
    """A study's store: an ``s3://`` prefix, a directory with a log, or a name in studies_dir()."""
    text = str(study)
    if text.startswith("s3://"):
        return text
    path = Path(text)
    if (path / "events.jsonl").exists() or os.sep in text or text.startswith("."):
        return str(path)
    return str(studies_dir() / text)


__all__ = [
    "DEFAULT_STUDIES_DIR",
    "FORMAT_VERSION",
    "LOG_NAME",
    "Damage",
    "EventLog",
    "LocalEventLog",
    "MemoryEventLog",
    "S3EventLog",
    "Store",
    "StudyLog",
    "TrialRecord",
    "apply",
    "open_log",
    "replay",
    "studies_dir",
    "study_location",
]


class EventLog(Protocol):
    """Where a study's events are kept. Appends are durable when ``append`` returns."""

    location: str

    def append(self, events: Sequence[Event | Mapping[str, Any]]) -> int:
        """Write the events; returns the bytes written (0 when nothing is serialized)."""
        ...

    def read(self) -> Reading: ...

    def exists(self) -> bool: ...


def open_log(location: str | os.PathLike[str]) -> EventLog:
    """The event log at a local directory or an ``s3://`` prefix."""
    text = str(location)
    if text.startswith("s3://"):
        return S3EventLog(text)
    return LocalEventLog(text)


class Store:
    """A study's event log with the operations the tuner needs.

    Durable: every ``record`` call is on disk (or in S3) when it returns.
    """

    def __init__(self, location: str | os.PathLike[str] | EventLog) -> None:
        self.log: EventLog = (
            location if not isinstance(location, str | os.PathLike) else open_log(location)
        )

    @property
    def location(self) -> str:
        return self.log.location

    def exists(self) -> bool:
        return self.log.exists()

    def record(self, *events: Event | Mapping[str, Any]) -> int:
        """Append events (typed, or JSON objects, checked first); returns the bytes written."""
        return self.log.append([as_event(e) for e in events])

    def load(self) -> StudyLog:
        """The study's state, replayed from every readable event; damage is in ``.damage``."""
        reading = self.log.read()
        state = replay(reading.events)
        state.damage = [d.describe() for d in reading.damage]
        return state

    def damage(self) -> list[Damage]:
        return list(self.log.read().damage)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        for event in self.log.read().events:
            yield encode(event) if isinstance(event, Event) else dict(event)
