"""A training job's learning curves, read from its CloudWatch log streams as they grow.

SageMaker writes each instance's output to the log group
``/aws/sagemaker/TrainingJobs``, stream ``<job name>/algo-<n>-<timestamp>``.
:class:`CurveReader` remembers a forward token per stream, so each read
fetches only the lines logged since the last one; it never re-reads a
stream from its head. The job's metric regexes are applied here, as
SageMaker applies them to produce its metrics.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from byohpo.backends._retry import RetryingCaller, error_code

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient

LOG_GROUP = "/aws/sagemaker/TrainingJobs"

CATCH_UP_EVENTS = 1_000
"""A page with at least this many events may not be the last: read on at once. A smaller page
is taken as the end for now (GetLogEvents pages hold up to 10,000 events), so a read that finds
a few new lines costs one call, not a second one to confirm the end; the forward token is kept,
so anything not read yet comes with the next read."""

Curves = dict[str, list[tuple[float, float]]]
"""Per metric, ``(seconds since the job's first log line, value)`` in log order."""


class MetricParser:
    """Applies metric definitions (name -> regex with one capture group) to log lines."""

    def __init__(self, definitions: Mapping[str, str]) -> None:
        self._patterns = [(name, re.compile(regex)) for name, regex in definitions.items()]

    @property
    def names(self) -> list[str]:
        return [name for name, _ in self._patterns]

    def parse(self, line: str) -> list[tuple[str, float]]:
        """The metric values in one line: the first match of each regex, if it reads as a number."""
        found = []
        for name, pattern in self._patterns:
            match = pattern.search(line)
            if match is None:
                continue
            try:
                value = float(match.group(1))
            except (TypeError, ValueError):
                continue
            if math.isfinite(value):
                found.append((name, value))
        return found


@dataclass
class _Stream:
    name: str
    token: str | None = None


@dataclass
class CurveReader:
    """Incremental reader of one job's log streams. Not thread-safe."""

    client: CloudWatchLogsClient
    call: RetryingCaller
    job_name: str
    parser: MetricParser
    instance_count: int = 1
    streams: dict[str, _Stream] = field(default_factory=dict)
    curves: Curves = field(default_factory=dict)
    origin_ms: int | None = None
    finished: bool = False
    """Set by the owner once the job is terminal and fully read: no more calls."""

    def read(self) -> Curves:
        """Every point so far, per metric (lists are copies)."""
        if not self.finished:
            if len(self.streams) < self.instance_count:
                self._discover_streams()
            for stream in sorted(self.streams.values(), key=lambda s: s.name):
                self._read_stream(stream)
        return {name: list(points) for name, points in self.curves.items()}

    def _discover_streams(self) -> None:
        kwargs: dict[str, Any] = {
            "logGroupName": LOG_GROUP,
            "logStreamNamePrefix": f"{self.job_name}/",
        }
        while True:
            try:
                page = self.call("DescribeLogStreams", self.client.describe_log_streams, **kwargs)
            except ClientError as exc:
                if error_code(exc) == "ResourceNotFoundException":
                    return  # no job has logged yet
                raise
            for stream in page.get("logStreams", []):
                name = stream.get("logStreamName", "")
                self.streams.setdefault(name, _Stream(name))
            token = page.get("nextToken")
            if not token:
                return
            kwargs["nextToken"] = token

    def _read_stream(self, stream: _Stream) -> None:
        while True:
            kwargs: dict[str, Any] = {
                "logGroupName": LOG_GROUP,
                "logStreamName": stream.name,
                "startFromHead": True,
            }
            if stream.token is not None:
                kwargs["nextToken"] = stream.token
            page = self.call("GetLogEvents", self.client.get_log_events, **kwargs)
            events = page.get("events", [])
            for event in events:
                self._add(event.get("timestamp", 0), event.get("message", ""))
            token = page.get("nextForwardToken")
            at_end = not events or token is None or token == stream.token
            if token is not None:
                stream.token = token
            if at_end or len(events) < CATCH_UP_EVENTS:
                return

    def _add(self, timestamp_ms: int, message: str) -> None:
        if self.origin_ms is None:
            self.origin_ms = timestamp_ms
        seconds = max(0.0, (timestamp_ms - self.origin_ms) / 1000.0)
        for line in message.splitlines() or [message]:
            for name, value in self.parser.parse(line):
                self.curves.setdefault(name, []).append((seconds, value))


def last_log_lines(
    call: RetryingCaller, client: CloudWatchLogsClient, job_name: str, count: int = 10
) -> list[str]:
    """The last ``count`` lines the job's first instance logged (to show beside a metric regex
    that matched nothing); empty when there are none, or they cannot be read."""
    try:
        streams = call(
            "DescribeLogStreams",
            client.describe_log_streams,
            logGroupName=LOG_GROUP,
            logStreamNamePrefix=f"{job_name}/",
        )["logStreams"]
        if not streams:
            return []
        events = call(
            "GetLogEvents",
            client.get_log_events,
            logGroupName=LOG_GROUP,
            logStreamName=sorted(s["logStreamName"] for s in streams)[0],
            limit=count,
            startFromHead=False,
        )["events"]
    except ClientError:
        return []
    return [str(e["message"]).rstrip("\n") for e in events][-count:]
