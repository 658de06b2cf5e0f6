"""A study's log in a local directory: one JSON-lines file, shared safely between processes.

Every append takes an OS-level lock on the file (``fcntl.flock``), cuts a torn tail
left by a crash, writes its lines in one call and fsyncs before it lets go, so
``byohpo stop`` can append while ``byohpo run`` appends, and neither cuts the
other's line. Readers take no lock: a line being written is a torn tail to them,
and ignored.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from byohpo.errors import StoreAccessError
from byohpo.study._events import Event, as_event, dumps
from byohpo.study._reading import Reading, parse_lines

LOG_NAME = "events.jsonl"


def _cut_torn_tail(f: IO[bytes]) -> None:
    """Drop a last line left half-written by a crash, so the next event starts on its own line."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return
    f.seek(end - 1)
    if f.read(1) == b"\n":
        return
    position = end
    while position > 0:
        step = min(4096, position)
        position -= step
        f.seek(position)
        chunk = f.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            f.truncate(position + newline + 1)
            return
    f.truncate(0)


def _unwritable(path: Path, exc: OSError) -> StoreAccessError:
    return StoreAccessError(
        "the study's log must be writable to run the study",
        f"{path}: {exc.strerror or exc}",
        "Nothing was launched after this point. Fix the permissions (chmod u+w, or run as "
        "the log's owner) or free disk space, then `byohpo resume` the study.",
    )


class LocalEventLog:
    """A JSON-lines file, appended under an OS-level lock and fsync'd."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self.location = str(self.directory)
        self._thread_lock = threading.Lock()
        self._read = Reading()  # what was read so far, up to ``_offset``
        self._offset = 0  # bytes of whole lines read
        self._lines = 0

    def exists(self) -> bool:
        try:
            return self.path.stat().st_size > 0
        except FileNotFoundError:
            return False
        except PermissionError as exc:
            raise StoreAccessError(
                "the study's directory must be readable",
                f"{self.directory}: {exc.strerror}",
                "Fix its permissions (chmod u+rx, or run as its owner) and try again.",
            ) from None

    @contextmanager
    def locked(self) -> Iterator[IO[bytes]]:
        """The log file open for appending, with this process holding its lock."""
        with self._thread_lock:
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                f = open(self.path, "ab+")  # noqa: SIM115  (closed below, after the unlock)
            except OSError as exc:
                raise _unwritable(self.path, exc) from None
            try:
                fcntl.flock(f.fileno(), fcntl.LOCK_EX)
                try:
                    yield f
                finally:
                    fcntl.flock(f.fileno(), fcntl.LOCK_UN)
            finally:
                f.close()

    def append(self, events: Sequence[Event | Mapping[str, Any]]) -> int:
        """Write the events durably; returns the bytes written."""
        data = "".join(dumps(as_event(e)) + "\n" for e in events).encode()
        if not data:
            return 0
        with self.locked() as f:
            try:
                _cut_torn_tail(f)
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            except OSError as exc:
                raise _unwritable(self.path, exc) from None
        return len(data)

    def read(self) -> Reading:
        """Every readable event; only what was appended since the last read is parsed."""
        try:
            with open(self.path, "rb") as f:
                size = f.seek(0, os.SEEK_END)
                if size < self._offset:  # rewritten (a repair): read it all again
                    self._read, self._offset, self._lines = Reading(), 0, 0
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            self._read, self._offset, self._lines = Reading(), 0, 0
            return Reading()
        except PermissionError as exc:
            raise StoreAccessError(
                "the study's log must be readable",
                f"{self.path}: {exc.strerror}",
                "Fix its permissions (chmod u+r, or run as the log's owner) and try again.",
            ) from None
        whole = data.rfind(b"\n") + 1  # a torn tail is read again next time
        text = data[:whole].decode("utf-8", errors="replace")
        self._lines += parse_lines(text, str(self.path), self._read, self._lines + 1)
        self._offset += whole
        tail = data[whole:]
        return Reading(list(self._read.events), list(self._read.damage), bool(tail.strip()))

    def replace(self, kept: str, set_aside: str, aside_path: Path) -> None:
        """Rewrite the log as ``kept`` and add ``set_aside`` to ``aside_path`` (a repair)."""
        with self.locked():
            if set_aside:
                with open(aside_path, "a") as aside:
                    aside.write(set_aside)
                    aside.flush()
                    os.fsync(aside.fileno())
            temporary = self.path.with_suffix(".repairing")
            with open(temporary, "w") as f:
                f.write(kept)
                f.flush()
                os.fsync(f.fileno())
            os.replace(temporary, self.path)
