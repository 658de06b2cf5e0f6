"""A fake account's S3 objects and CloudWatch log streams on disk, so a kept dry run's jobs
keep their data across restarts, as they would in the cloud.

The job journal (:mod:`byohpo.fake._job_journal`) brings a dry run's jobs back when its
service is started again (after it idled out, was stopped or killed, or the machine
restarted). This brings back what they wrote: model artifacts, output and checkpoints in S3
(which PBT's exploit and ASHA's promotion copy), the dry-run inputs and code archives, and
each job's log stream (its learning curve, its lines). Layout, under the directory given::

    s3/index.json             bucket and key -> ETag and file, for every object
    s3/objects/<hash>         each object's bytes
    logs/index.json           log group and stream -> last ingestion and file
    logs/streams/<hash>.jsonl each stream's events, one JSON object a line

:meth:`KeptData.save` writes only what changed since the last save (an object whose ETag
changed, a stream that received events) and removes what was deleted; the disk holds one
copy of each object, as the fake's memory does. Files are replaced atomically.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

log = logging.getLogger(__name__)

_PUT_EVENTS_BATCH = 1000
"""Log events per PutLogEvents when restoring (CloudWatch takes up to 10,000 and 1 MB)."""


class KeptData:
    """The S3 objects and log streams of a fake account, kept in ``directory``."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._objects: dict[str, dict[str, str]] = _read_index(self._s3_dir / "index.json")
        self._streams: dict[str, dict[str, Any]] = _read_index(self._logs_dir / "index.json")

    @property
    def _s3_dir(self) -> Path:
        return self.directory / "s3"

    @property
    def _logs_dir(self) -> Path:
        return self.directory / "logs"

    # --- saving -------------------------------------------------------------------------------

    def save(self, account_id: str, region: str) -> int:
        """Write what changed in the account's S3 and its region's logs; how many objects and
        streams. Read from moto's models, as the jobs' log lines are written
        (:class:`~byohpo.fake._cloudwatch.JobLog`): listing 1,000 jobs' worth through the API
        took a second, this takes milliseconds (``make bench-memory``)."""
        return self._save_objects(account_id) + self._save_streams(account_id, region)

    def _save_objects(self, account_id: str) -> int:
        from moto.s3.models import s3_backends

        seen: set[str] = set()
        written = 0
        for _, backend in list(s3_backends[account_id].items()):
            for bucket, model in list(backend.buckets.items()):
                seen.add(_ident(bucket, ""))
                self._objects.setdefault(_ident(bucket, ""), {"bucket": bucket})
                # the store's own lists of versions, taken at once: jobs write meanwhile
                for key, versions in list(dict.items(model.keys)):
                    if not versions:
                        continue
                    item, ident = versions[-1], _ident(bucket, key)
                    try:
                        etag = item.etag
                        same = self._objects.get(ident, {}).get("etag") == etag
                        body = None if same else item.value
                    except AttributeError:  # a delete marker: the object is gone
                        continue
                    except ValueError:  # overwritten while read (moto closed it): next time
                        body = None
                    seen.add(ident)
                    if body is None:
                        continue
                    file = _hash(ident)
                    _write_atomically(self._s3_dir / "objects" / file, body)
                    self._objects[ident] = {
                        "bucket": bucket,
                        "key": key,
                        "etag": etag,
                        "file": file,
                    }
                    written += 1
        gone = [ident for ident in self._objects if ident not in seen]
        for ident in gone:
            entry = self._objects.pop(ident)
            if "file" in entry:
                (self._s3_dir / "objects" / entry["file"]).unlink(missing_ok=True)
        if written or gone or not (self._s3_dir / "index.json").exists():
            _write_index(self._s3_dir / "index.json", self._objects)
        return written

    def _save_streams(self, account_id: str, region: str) -> int:
        from moto.logs.models import logs_backends

        written = 0
        for name, group in list(logs_backends[account_id][region].groups.items()):
            for stream_name, stream in list(group.streams.items()):
                ident = _ident(name, stream_name)
                mark = [len(stream.events), stream.upload_sequence_token]
                if self._streams.get(ident, {}).get("mark") == mark:
                    continue
                events = stream.events[: mark[0]]  # a job may be adding lines meanwhile
                file = _hash(ident) + ".jsonl"
                lines = "".join(
                    json.dumps({"timestamp": e.timestamp, "message": e.message}) + "\n"
                    for e in events
                )
                _write_atomically(self._logs_dir / "streams" / file, lines.encode())
                self._streams[ident] = {
                    "group": name,
                    "stream": stream_name,
                    "mark": mark,
                    "file": file,
                }
                written += 1
        if written:
            _write_index(self._logs_dir / "index.json", self._streams)
        return written

    # --- restoring ----------------------------------------------------------------------------

    def restore(self, s3: BaseClient, account_id: str, region: str) -> int:
        """Put every kept object and stream back in a new account; how many. A file that is
        missing or unreadable is skipped with a warning. The log events go straight into
        moto's backend, as the jobs' own lines do (:class:`~byohpo.fake._cloudwatch.JobLog`),
        so empty lines and old timestamps come back as they were."""
        return self._restore_objects(s3, region) + self._restore_streams(account_id, region)

    def _restore_objects(self, s3: Any, region: str) -> int:
        restored = 0
        buckets = sorted({entry["bucket"] for entry in self._objects.values()})
        for bucket in buckets:
            options: dict[str, Any] = {}
            if region != "us-east-1":
                options["CreateBucketConfiguration"] = {"LocationConstraint": region}
            with contextlib.suppress(ClientError):  # it exists already
                s3.create_bucket(Bucket=bucket, **options)
        for entry in self._objects.values():
            if "file" not in entry:
                continue
            try:
                body = (self._s3_dir / "objects" / entry["file"]).read_bytes()
            except OSError as exc:
                log.warning("kept S3 object s3://%s/%s unreadable: %s", *_where(entry), exc)
                continue
            answer = s3.put_object(Bucket=entry["bucket"], Key=entry["key"], Body=body)
            entry["etag"] = answer["ETag"]  # unchanged: no need to write it again
            restored += 1
        return restored

    def _restore_streams(self, account_id: str, region: str) -> int:
        from moto.logs.models import logs_backends

        backend = logs_backends[account_id][region]
        restored = 0
        for entry in self._streams.values():
            try:
                text = (self._logs_dir / "streams" / entry["file"]).read_text()
                events = [json.loads(line) for line in text.splitlines() if line]
            except (OSError, ValueError) as exc:
                log.warning("kept log stream %s unreadable: %s", entry["stream"], exc)
                continue
            group, stream = entry["group"], entry["stream"]
            if group not in backend.groups:
                backend.create_log_group(group, tags={})
            if stream not in backend.groups[group].streams:
                backend.create_log_stream(group, stream)
            for start in range(0, len(events), _PUT_EVENTS_BATCH):
                backend.put_log_events(group, stream, events[start : start + _PUT_EVENTS_BATCH])
            entry["mark"] = None  # saved again once: its ingestion time is new
            restored += 1
        return restored


def _ident(first: str, second: str) -> str:
    return f"{first}\n{second}"


def _hash(ident: str) -> str:
    return hashlib.sha256(ident.encode()).hexdigest()[:40]


def _where(entry: dict[str, str]) -> tuple[str, str]:
    return entry["bucket"], entry["key"]


def _read_index(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        log.warning("kept-data index %s unreadable (%s): starting without it", path, exc)
        return {}
    return {str(k): v for k, v in data.items()} if isinstance(data, dict) else {}


def _write_index(path: Path, index: dict[str, Any]) -> None:
    _write_atomically(path, json.dumps(index, indent=0, sort_keys=True).encode())


def _write_atomically(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.write_bytes(data)
    os.replace(partial, path)
