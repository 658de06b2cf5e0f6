"""A study's log in S3: append-only segments, written with conditional puts, compacted.

S3 has no append, so each append is a new object, ``<prefix>/events/<n>.jsonl``,
numbered in order and created only if it does not exist yet (``If-None-Match: *``):
two writers can never overwrite each other's events. A writer that loses the race for
a number reads what the other wrote and takes the next number, unless the other is
running the study too (it planned or launched trials), which is refused.

A reader lists and reads only the segments it has not read yet. Every
:data:`CHUNK_SEGMENTS` segments, the writer copies them into one chunk,
``<prefix>/chunks/<first>-<last>.jsonl`` (again a conditional put), and deletes them,
so a fresh reader fetches a few large objects instead of thousands of small ones.
Each event is uploaded twice at most (once in its segment, once in its chunk): the
bytes uploaded per job stay constant however long the study.

A log written by byohpo before segments (one ``events.jsonl`` object) is read first.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from byohpo.errors import ConcurrentWriterError, StoreError
from byohpo.study._events import Event, JobSubmitted, TrialsAsked, as_event, dumps
from byohpo.study._reading import Reading, parse_lines

LEGACY_NAME = "events.jsonl"
CHUNK_SEGMENTS = 200
"""Segments gathered into one chunk."""
_DIGITS = 12
_SEGMENT = re.compile(r"events/(\d{12})\.jsonl$")
_CHUNK = re.compile(r"chunks/(\d{12})-(\d{12})\.jsonl$")
_RETRIES = 5
_RUNNING_KINDS = (TrialsAsked.KIND, JobSubmitted.KIND)


@dataclass(frozen=True)
class _Object:
    key: str
    first: int
    last: int


class S3EventLog:
    """The log as numbered segment objects under an ``s3://bucket/prefix``."""

    def __init__(self, uri: str, client: Any = None) -> None:
        if not uri.startswith("s3://"):
            raise StoreError(f"an S3 store location starts with s3://, but got {uri!r}")
        bucket, _, prefix = uri[5:].partition("/")
        self.bucket = bucket
        self.prefix = f"{prefix.rstrip('/')}/" if prefix.strip("/") else ""
        self.key = f"{self.prefix}{LEGACY_NAME}"
        self.location = uri
        self._client = client
        self._lock = threading.Lock()
        self._events: list[Any] = []  # everything read or written so far, in order
        self._damage: list[Any] = []
        self._last = 0  # the last segment number read or written
        self._legacy_read = False
        self._chunked_to = 0  # segments up to this number are in chunks
        self._synced = False  # read the log at least once (a writer starts after the end)

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def _segment_key(self, number: int) -> str:
        return f"{self.prefix}events/{number:0{_DIGITS}d}.jsonl"

    def _list(self, folder: str, start_after: str | None = None) -> list[str]:
        kwargs: dict[str, Any] = {"Bucket": self.bucket, "Prefix": f"{self.prefix}{folder}/"}
        if start_after:
            kwargs["StartAfter"] = start_after
        keys: list[str] = []
        while True:
            page = self.client.list_objects_v2(**kwargs)
            keys.extend(o["Key"] for o in page.get("Contents", []))
            if not page.get("IsTruncated"):
                return keys
            kwargs["ContinuationToken"] = page["NextContinuationToken"]

    def _get(self, key: str) -> str | None:
        try:
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
        except self.client.exceptions.NoSuchKey:
            return None
        except self.client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("AccessDenied", "403") and key.endswith(LEGACY_NAME):
                return None  # a role that may list only the study's prefix sees 403, not 404
            raise
        return str(body.read().decode("utf-8", errors="replace"))

    # -- reading -------------------------------------------------------------------------
    def _catch_up(self) -> None:
        """Read what was written since the last read: new chunks, then new segments."""
        reading = Reading()
        if not self._legacy_read:
            self._legacy_read = True
            text = self._get(self.key)
            if text:
                parse_lines(text, f"s3://{self.bucket}/{self.key}", reading)
        for _ in range(_RETRIES):
            segments = [_parse(k) for k in self._list("events", self._segment_key(self._last))]
            chunks = [_parse(k) for k in self._list("chunks")]
            fresh = sorted((c for c in chunks if c.last > self._last), key=lambda c: c.first)
            texts: list[tuple[_Object, str]] = []
            last = self._last
            complete = True
            if any(c.first <= self._last for c in fresh):
                self._restart()  # segments this reader read were gathered into a chunk
                return self._catch_up()
            for obj in [*fresh, *sorted(segments, key=lambda s: s.first)]:
                if obj.last <= last:
                    continue
                if obj.first != last + 1:
                    complete = False  # compacted while we listed: list again
                    break
                text = self._get(obj.key)
                if text is None:
                    complete = False
                    break
                texts.append((obj, text))
                last = obj.last
            if complete:
                break
        else:
            raise StoreError(f"{self.location}: the log kept changing while it was read")
        for obj, text in texts:
            parse_lines(text, f"s3://{self.bucket}/{obj.key}", reading)
        if chunks:
            self._chunked_to = max(self._chunked_to, max(c.last for c in chunks))
        self._last = last
        self._synced = True
        self._events.extend(reading.events)
        self._damage.extend(reading.damage)

    def _restart(self) -> None:
        self._events, self._damage, self._last, self._legacy_read = [], [], 0, False
        self._synced = False

    def read(self) -> Reading:
        with self._lock:
            self._catch_up()
            return Reading(list(self._events), list(self._damage))

    def exists(self) -> bool:
        with self._lock:
            self._catch_up()
            return bool(self._events)

    # -- writing -------------------------------------------------------------------------
    def append(self, events: Sequence[Event | Mapping[str, Any]]) -> int:
        """Write the events as the next segment; returns the bytes uploaded."""
        typed = [as_event(e) for e in events]
        text = "".join(dumps(e) + "\n" for e in typed)
        if not text:
            return 0
        body = text.encode()
        with self._lock:
            if not self._synced:
                self._catch_up()  # what earlier runs wrote is theirs, not a rival's
            stalled = 0  # tries that lost a race without finding what the other wrote
            while stalled < _RETRIES:
                number = self._last + 1
                if self._put_new(self._segment_key(number), body):
                    self._last = number
                    self._events.extend(typed)
                    return len(body) + self._compact()
                before = len(self._events)
                self._catch_up()  # another writer took this number: read what it wrote
                theirs = self._events[before:]
                stalled = stalled + 1 if not theirs else 0
                if any(_kind(e) in _RUNNING_KINDS for e in theirs):
                    raise ConcurrentWriterError(
                        f"another process is running this study and writing its log at "
                        f"{self.location} (it planned or launched trials). Nothing more was "
                        "launched from here. Let the other run finish, or stop it, then "
                        "`byohpo resume` the study."
                    )
            raise ConcurrentWriterError(f"{self.location}: could not append after {_RETRIES} tries")

    def _put_new(self, key: str, body: bytes) -> bool:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=body, IfNoneMatch="*")
        except self.client.exceptions.ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code in ("PreconditionFailed", "ConditionalRequestConflict", "412", "409"):
                return False
            raise
        return True

    def _compact(self) -> int:
        """Gather the oldest :data:`CHUNK_SEGMENTS` segments into one chunk; the bytes sent."""
        first = self._chunked_to + 1
        last = first + CHUNK_SEGMENTS - 1
        if self._last < last + 1:  # keep the newest segment out, so a writer can find its place
            return 0
        keys = [k for k in self._list("events") if first <= _parse(k).first <= last]
        if len(keys) != CHUNK_SEGMENTS:
            self._chunked_to = max(self._chunked_to, 0)
            return 0
        texts = [self._get(k) for k in keys]
        if any(t is None for t in texts):
            return 0  # another writer compacted them
        body = "".join(t or "" for t in texts).encode()
        chunk = f"{self.prefix}chunks/{first:0{_DIGITS}d}-{last:0{_DIGITS}d}.jsonl"
        if self._put_new(chunk, body):
            self.client.delete_objects(
                Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in keys], "Quiet": True}
            )
        self._chunked_to = last
        return len(body)


def _parse(key: str) -> _Object:
    segment = _SEGMENT.search(key)
    if segment:
        number = int(segment.group(1))
        return _Object(key, number, number)
    chunk = _CHUNK.search(key)
    if chunk:
        return _Object(key, int(chunk.group(1)), int(chunk.group(2)))
    return _Object(key, 0, 0)  # not ours: skipped (its last is never past what was read)


def _kind(event: Any) -> str:
    return str(event.KIND) if isinstance(event, Event) else str(event.get("event"))
