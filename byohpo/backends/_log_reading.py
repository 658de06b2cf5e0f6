"""Reading jobs' logs: learning curves (the :class:`~byohpo.backends._base.ReadsCurves`
capability) and a job's last lines (:class:`~byohpo.backends._base.ReadsLogs`).

Part of :class:`~byohpo.backends._sagemaker.SageMakerBackend` (its state lives on the backend).
Each job's curves are read incrementally by a :class:`~byohpo.backends._logs.CurveReader`: a
GetLogEvents per log stream per read, each reading only the new lines, and none once the job
ended and its logs were read whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from byohpo.backends._aws_errors import translate
from byohpo.backends._logs import CurveReader, MetricParser, last_log_lines
from byohpo.backends._retry import RetryingCaller
from byohpo.trial import JobState

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

    from byohpo.job import TrainingJob


class LogReading:
    """The log-reading part of the SageMaker backend."""

    _call: RetryingCaller
    _readers: dict[str, CurveReader]
    _final: dict[str, JobState]

    if TYPE_CHECKING:

        def _template(self) -> TrainingJob: ...

        def _clients(self) -> tuple[SageMakerClient, S3Client, CloudWatchLogsClient]: ...

    def read_curves(self, job_name: str) -> Mapping[str, list[tuple[float, float]]]:
        """Every metric point logged so far; each call reads only the new log lines."""
        job = self._template()
        reader = self._readers.get(job_name)
        if reader is None:
            reader = CurveReader(
                client=self._clients()[2],
                call=self._call,
                job_name=job_name,
                parser=MetricParser(job.metric_definitions),
                instance_count=job.instance_count,
            )
            self._readers[job_name] = reader
        was_final = job_name in self._final
        try:
            curves = reader.read()
        except ClientError as exc:
            raise translate(exc, "GetLogEvents", job_name) from exc
        if was_final and len(reader.streams) >= job.instance_count:
            reader.finished = True  # terminal before this read: its logs are complete
        return curves

    def last_log_lines(self, job_name: str, count: int = 10) -> list[str]:
        """The last ``count`` lines the job's first instance logged (to show beside a regex)."""
        return last_log_lines(self._call, self._clients()[2], job_name, count)
