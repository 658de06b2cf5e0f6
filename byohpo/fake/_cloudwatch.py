"""What a training job sends to CloudWatch: its log stream and its metrics.

As on SageMaker, every line the job prints (stdout and stderr alike) becomes an event of
the stream ``<job>/algo-1-<epoch seconds>`` in the group ``/aws/sagemaker/TrainingJobs``,
and the job's MetricDefinitions regexes are applied to each line: the first capture group
is the value, and the last value seen of each metric is its final value.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from botocore.client import BaseClient

from byohpo.fake._training_jobs import LOG_GROUP, MetricValue

METRICS_NAMESPACE = "/aws/sagemaker/TrainingJobs"
_GROUP_LOCK = threading.Lock()
_MAX_EVENTS_PER_PUT = 10_000


class MetricParser:
    """Applies MetricDefinitions to output lines as SageMaker does. Not thread-safe."""

    def __init__(self, definitions: Sequence[Mapping[str, str]]) -> None:
        self._patterns = [(d["Name"], re.compile(d["Regex"])) for d in definitions]
        self._latest: dict[str, MetricValue] = {}

    def feed(self, line: str, timestamp: float) -> list[tuple[str, float]]:
        """The metric values found in ``line`` (non-finite values are dropped, as by
        CloudWatch); each becomes the metric's latest value."""
        found: list[tuple[str, float]] = []
        for name, pattern in self._patterns:
            match = pattern.search(line)
            if match is None or not match.groups() or match.group(1) is None:
                continue
            try:
                value = float(match.group(1))
            except ValueError:
                continue
            if not math.isfinite(value):
                continue
            self._latest[name] = MetricValue(value, timestamp)
            found.append((name, value))
        return found

    def final(self) -> dict[str, MetricValue]:
        """The last value of each metric seen, in the order of the definitions."""
        return {name: self._latest[name] for name, _ in self._patterns if name in self._latest}


class JobLog:
    """One job's log stream, written into moto's CloudWatch Logs backend directly (so the
    writes are not API calls of the user). Thread-safe."""

    def __init__(self, account_id: str, region: str, job_name: str, created: float) -> None:
        self.stream_name = f"{job_name}/algo-1-{int(created)}"
        self._account_id = account_id
        self._region = region
        self._lock = threading.Lock()
        self._last_millis = 0

    def _backend(self) -> Any:
        from moto.logs.models import logs_backends

        return logs_backends[self._account_id][self._region]

    def open(self) -> None:
        """Create the group (if needed) and the stream. Idempotent."""
        backend = self._backend()
        with _GROUP_LOCK:
            if LOG_GROUP not in backend.groups:
                backend.create_log_group(LOG_GROUP, tags={})
            if self.stream_name not in backend.groups[LOG_GROUP].streams:
                backend.create_log_stream(LOG_GROUP, self.stream_name)

    def write(self, lines: Sequence[tuple[float, str]]) -> None:
        """Append ``(timestamp, line)`` events; timestamps are kept non-decreasing."""
        if not lines:
            return
        with self._lock:
            events = []
            for timestamp, message in lines:
                millis = max(self._last_millis, int(timestamp * 1000))
                self._last_millis = millis
                events.append({"timestamp": millis, "message": message})
            backend = self._backend()
            for start in range(0, len(events), _MAX_EVENTS_PER_PUT):
                backend.put_log_events(
                    LOG_GROUP, self.stream_name, events[start : start + _MAX_EVENTS_PER_PUT]
                )


class MetricPublisher:
    """Publishes a job's metric values to CloudWatch metrics, dimension ``Host``, as
    SageMaker does. Thread-safe (the client is)."""

    def __init__(self, client: BaseClient, job_name: str) -> None:
        self._client = client
        self._host = f"{job_name}/algo-1"

    def publish(self, values: Sequence[tuple[float, str, float]]) -> None:
        """Send ``(timestamp, metric name, value)`` data points."""
        data: list[Any] = [
            {
                "MetricName": name,
                "Dimensions": [{"Name": "Host", "Value": self._host}],
                "Timestamp": datetime.fromtimestamp(timestamp, UTC),
                "Value": value,
            }
            for timestamp, name, value in values
        ]
        for start in range(0, len(data), 1000):
            self._client.put_metric_data(  # type: ignore[attr-defined]
                Namespace=METRICS_NAMESPACE, MetricData=data[start : start + 1000]
            )
