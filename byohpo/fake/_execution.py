"""One training job carried out from ``Starting`` to its end, as SageMaker carries it out.

Downloading (code, channels, checkpoints), Training (the script, or the metrics function in
instant mode), Uploading (model and output tarballs, checkpoints), then ``Completed``,
``Failed`` with SageMaker's FailureReason, or ``Stopped``.
"""

from __future__ import annotations

import math
import threading
import time
import traceback
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from byohpo.fake._cloudwatch import JobLog, MetricParser, MetricPublisher
from byohpo.fake._container import (
    PROGRAM_PARAM,
    SUBMIT_DIR_PARAM,
    JobSpec,
    Workspace,
    command,
    command_args,
    decode_hyperparameters,
    environment,
    interpreter,
    user_hyperparameters,
    write_config,
)
from byohpo.fake._faults import FailureKind
from byohpo.fake._process import OutputLine, ScriptProcess
from byohpo.fake._training_jobs import (
    MAX_FAILURE_REASON,
    JobStore,
    MetricValue,
    SecondaryStatus,
    StopCause,
    TrainingJobRecord,
)
from byohpo.fake._transfer import S3Location, S3Transfer, TransferError

MetricsFn = Callable[[Mapping[str, Any]], Mapping[str, float]]
"""Instant mode: the job's hyperparameters (decoded as the script would see them) to its
metric values."""

_POLL_SECONDS = 0.05
_DRAIN_SECONDS = 5.0
"""How long output is still read after the script exited."""
_STDERR_TAIL_LINES = 40


@dataclass(frozen=True)
class ExecutionSettings:
    """How the fake carries out jobs (shared by every job)."""

    account_id: str
    work_dir: Path
    python: str | Mapping[str, str] | None = None
    stop_grace_seconds: float = 5.0
    checkpoint_sync_seconds: float = 5.0
    instant: bool = False
    metrics_fn: MetricsFn | None = None
    instant_training_seconds: float = 0.0


class JobFailure(Exception):
    """The job fails; the message is its FailureReason."""


@dataclass
class _Outcome:
    exit_code: int = 0
    command: str = ""
    stderr_tail: Sequence[str] = ()
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    aborted: bool = False


def _now() -> float:
    return time.time()


class JobExecution:
    """Carries out one job on the calling thread. :meth:`abort` may be called from another."""

    def __init__(
        self,
        record: TrainingJobRecord,
        store: JobStore,
        settings: ExecutionSettings,
        transfer: S3Transfer,
        metrics_client: BaseClient | None,
    ) -> None:
        self.record = record
        self._store = store
        self._settings = settings
        self._transfer = transfer
        self._metrics_client = metrics_client
        self._aborted = threading.Event()
        self._process: ScriptProcess | None = None
        self._checkpoints_seen: dict[str, tuple[int, int]] = {}
        request = record.request
        checkpoint = request.get("CheckpointConfig") or {}
        self._checkpoint_uri: str | None = checkpoint.get("S3Uri")
        self.workspace = Workspace(
            root=settings.work_dir / record.region / record.name,
            checkpoint_local_path=checkpoint.get("LocalPath") or "/opt/ml/checkpoints",
        )
        algorithm = request.get("AlgorithmSpecification") or {}
        resources = record.resource_config
        self._spec = JobSpec(
            name=record.name,
            arn=record.arn,
            region=record.region,
            hyperparameters=record.hyperparameters,
            channels=list(request.get("InputDataConfig") or []),
            instance_type=str(resources.get("InstanceType", "ml.m5.large")),
            instance_count=int(resources.get("InstanceCount", 1)),
            input_mode=str(algorithm.get("TrainingInputMode", "File")),
            environment=dict(request.get("Environment") or {}),
        )
        self._image = algorithm.get("TrainingImage")

    # --- control from other threads -------------------------------------------------------

    def abort(self) -> None:
        """Kill the job's script now and skip its uploads (the fake is shutting down)."""
        self._aborted.set()
        process = self._process
        if process is not None:
            process.kill_leftovers()

    # --- state changes --------------------------------------------------------------------

    def _change(self, change: Callable[[TrainingJobRecord], None]) -> None:
        self._store.update(self.record, change)

    def _enter(self, status: SecondaryStatus) -> None:
        self._change(lambda r: r.enter(status, _now()))

    def _finish(
        self,
        status: SecondaryStatus,
        reason: str | None = None,
        metrics: Mapping[str, MetricValue] | None = None,
    ) -> None:
        def change(record: TrainingJobRecord) -> None:
            if metrics and not record.fate.metrics_missing:
                record.final_metrics = dict(metrics)
            final = status
            if status is SecondaryStatus.COMPLETED and record.stop_cause is not None:
                final = record.stop_cause.final_status  # a stop arrived at the very end
            record.finish(final, _now(), reason)

        self._change(change)

    def _check_limits(self) -> None:
        """Stop the job (``Stopping``) once MaxRuntime or, for spot, MaxWaitTime is reached."""
        record = self.record
        if record.stop_cause is not None:
            return
        now = _now()
        condition = record.stopping_condition
        cause = None
        started = record.training_start_time
        if started is not None and now - started >= condition["MaxRuntimeInSeconds"]:
            cause = StopCause.MAX_RUNTIME
        max_wait = condition.get("MaxWaitTimeInSeconds")
        if max_wait is not None and now - record.creation_time >= max_wait:
            cause = StopCause.MAX_WAIT
        if cause is not None:

            def stop(record: TrainingJobRecord) -> None:
                if record.stop_cause is None:
                    record.stop_cause = cause
                    record.enter(SecondaryStatus.STOPPING, now)

            self._change(stop)

    @property
    def _stopping(self) -> bool:
        return self.record.stop_cause is not None or self._aborted.is_set()

    # --- the job --------------------------------------------------------------------------

    def run(self) -> None:
        """Carry the job to a terminal status. Never raises for a failure of the job."""
        record = self.record
        if record.fate.failure is FailureKind.CAPACITY:
            self._finish(SecondaryStatus.FAILED, FailureKind.CAPACITY.failure_reason)
            return
        if self._stopping:
            self._finish(self._stop_status())
            return
        started = _now()
        log = JobLog(self._settings.account_id, record.region, record.name, started)
        log.open()

        def start(record: TrainingJobRecord) -> None:
            record.training_start_time = started
            record.log_stream = log.stream_name
            if not self._settings.instant:  # no script runs: no /opt/ml to stand in for
                record.work_dir = self.workspace.root
            record.enter(SecondaryStatus.DOWNLOADING, started)

        self._change(start)
        try:
            if not self._settings.instant:
                self.workspace.create()
                write_config(self.workspace, self._spec)
                self._download()
        except (JobFailure, TransferError) as exc:
            if self._stopping:  # SageMaker: a job that is Stopping ends Stopped
                self._finish(self._stop_status())
            else:
                self._finish(SecondaryStatus.FAILED, str(exc))
            return
        if self._stopping:
            self._finish(self._stop_status())
            return
        self._enter(SecondaryStatus.TRAINING)
        instant = self._settings.instant
        outcome = self._train_instant(log) if instant else self._train_script(log)
        self._conclude(outcome, log)

    def _stop_status(self) -> SecondaryStatus:
        cause = self.record.stop_cause
        return cause.final_status if cause is not None else SecondaryStatus.STOPPED

    def _download(self) -> None:
        decoded = decode_hyperparameters(self._spec.hyperparameters)
        if not decoded.get(PROGRAM_PARAM):
            raise JobFailure(
                f"AlgorithmError: no entry point: the hyperparameter '{PROGRAM_PARAM}' is not "
                f"set. Script-mode jobs name their script in '{PROGRAM_PARAM}' and their "
                f"code archive in '{SUBMIT_DIR_PARAM}', as the SageMaker Python SDK sets them."
            )
        submit_dir = decoded.get(SUBMIT_DIR_PARAM)
        if submit_dir:
            archive = S3Location.parse(str(submit_dir))
            self._transfer.extract_tarball(archive, self.workspace.code_dir)
        for channel in self._spec.channels:
            name = channel["ChannelName"]
            source = channel.get("DataSource") or {}
            s3 = source.get("S3DataSource")
            if not s3 or s3.get("S3DataType", "S3Prefix") != "S3Prefix":
                raise JobFailure(
                    f"ClientError: channel '{name}': the fake SageMaker downloads S3Prefix data "
                    "sources only."
                )
            destination = self.workspace.channel_dir(name)
            destination.mkdir(parents=True, exist_ok=True)
            self._transfer.download_prefix(S3Location.parse(s3["S3Uri"]), destination)
        if self._checkpoint_uri:
            self._transfer.sync_down(
                S3Location.parse(self._checkpoint_uri),
                self.workspace.checkpoint_dir,
                self._checkpoints_seen,
            )

    def _sync_checkpoints(self) -> None:
        if self._checkpoint_uri:
            self._transfer.sync_up(
                self.workspace.checkpoint_dir,
                S3Location.parse(self._checkpoint_uri),
                self._checkpoints_seen,
            )

    # --- training -------------------------------------------------------------------------

    def _preamble(self, log: JobLog, command_line: str) -> None:
        stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
        now = _now()
        log.write(
            [
                (now, f"{stamp} sagemaker-training-toolkit INFO     Invoking user script"),
                (now, "Invoking script with the following command:"),
                (now, ""),
                (now, command_line),
                (now, ""),
            ]
        )

    def _train_script(self, log: JobLog) -> _Outcome:
        settings = self._settings
        decoded = decode_hyperparameters(self._spec.hyperparameters)
        args = command_args(user_hyperparameters(decoded))
        python = interpreter(settings.python, self._image)
        argv = command(python, str(decoded[PROGRAM_PARAM]), args)
        command_line = " ".join(argv)
        parser = MetricParser(self.record.metric_definitions)
        publisher = (
            MetricPublisher(self._metrics_client, self.record.name)
            if self._metrics_client is not None
            else None
        )
        self._preamble(log, command_line)
        process = ScriptProcess(
            argv, self.workspace.code_dir, environment(self.workspace, self._spec, args)
        )
        try:
            pid = process.start()
        except OSError as exc:
            return _Outcome(exit_code=127, command=command_line, stderr_tail=[str(exc)])
        self._process = process
        self._change(lambda r: setattr(r, "pid", pid))
        stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        exited_at: float | None = None
        kill_at: float | None = None
        next_sync = time.monotonic() + settings.checkpoint_sync_seconds
        while not process.finished:
            lines = process.read_lines(timeout=_POLL_SECONDS)
            if lines:
                self._emit(lines, log, parser, publisher)
                stderr_tail.extend(line.text for line in lines if line.stderr)
            now = time.monotonic()
            if exited_at is None and process.poll() is not None:
                exited_at = now
                process.kill_leftovers()  # the container ends with its main process
            elif exited_at is not None and now - exited_at > _DRAIN_SECONDS:
                break  # a process outside the group holds the output open: stop reading
            if self._aborted.is_set():
                process.kill_leftovers()
            self._check_limits()
            if self.record.stop_cause is not None and exited_at is None:
                if kill_at is None:
                    process.send_sigterm()
                    kill_at = now + settings.stop_grace_seconds
                elif now >= kill_at:
                    process.kill_leftovers()
            if self._checkpoint_uri and now >= next_sync:
                self._sync_checkpoints()
                next_sync = now + settings.checkpoint_sync_seconds
        code = process.close()
        self._emit(process.read_lines(timeout=0), log, parser, publisher)
        exit_code = 0 if code is None else (128 - code if code < 0 else code)
        self._change(lambda r: setattr(r, "exit_code", exit_code))
        return _Outcome(
            exit_code=exit_code,
            command=command_line,
            stderr_tail=list(stderr_tail),
            metrics=parser.final(),
            aborted=self._aborted.is_set(),
        )

    def _emit(
        self,
        lines: Sequence[OutputLine],
        log: JobLog,
        parser: MetricParser,
        publisher: MetricPublisher | None,
    ) -> None:
        if not lines:
            return
        log.write([(line.timestamp, line.text) for line in lines])
        points = [
            (line.timestamp, name, value)
            for line in lines
            for name, value in parser.feed(line.text, line.timestamp)
        ]
        if points and publisher is not None and not self.record.fate.metrics_missing:
            publisher.publish(points)

    def _train_instant(self, log: JobLog) -> _Outcome:
        settings = self._settings
        self._preamble(log, "(instant mode: no script runs)")
        deadline = time.monotonic() + settings.instant_training_seconds
        while time.monotonic() < deadline and not self._stopping:
            self._check_limits()
            self._store.wait_until(
                lambda: self._stopping, timeout=min(_POLL_SECONDS * 4, deadline - time.monotonic())
            )
        if self._stopping:
            return _Outcome(aborted=self._aborted.is_set())
        hyperparameters = user_hyperparameters(decode_hyperparameters(self._spec.hyperparameters))
        try:
            values = dict(settings.metrics_fn(hyperparameters)) if settings.metrics_fn else {}
        except Exception as exc:  # the function stands for the script: its error fails the job
            lines = traceback.format_exception_only(type(exc), exc)
            log.write([(_now(), line.rstrip("\n")) for line in lines])
            return _Outcome(exit_code=1, command="metrics_fn", stderr_tail=lines)
        now = _now()
        log.write([(now, f"{name}={value}") for name, value in values.items()])
        defined = [d["Name"] for d in self.record.metric_definitions]
        metrics = {
            name: MetricValue(float(values[name]), now)
            for name in defined
            if name in values and math.isfinite(float(values[name]))
        }
        return _Outcome(metrics=metrics)

    # --- the end --------------------------------------------------------------------------

    def _output_location(self) -> S3Location:
        output = (self.record.request.get("OutputDataConfig") or {})["S3OutputPath"]
        return S3Location.parse(output).join(self.record.name, "output")

    def _upload(self, model: bool) -> None:
        location = self._output_location()
        if model:
            self._transfer.upload_tarball(self.workspace.model_dir, location.join("model.tar.gz"))
            uri = location.join("model.tar.gz").uri
            self._change(lambda r: setattr(r, "model_artifacts", uri))
        output_data = self.workspace.output_data_dir
        if output_data.is_dir() and any(output_data.iterdir()):
            self._transfer.upload_tarball(
                self.workspace.output_data_dir, location.join("output.tar.gz")
            )
        self._sync_checkpoints()

    def _conclude(self, outcome: _Outcome, log: JobLog) -> None:
        record = self.record
        if outcome.aborted:
            self._finish(self._stop_status(), metrics=outcome.metrics)
            return
        try:
            if record.stop_cause is not None:
                self._upload(model=True)
                self._finish(self._stop_status(), metrics=outcome.metrics)
                return
            failure = record.fate.failure
            if failure is not None or outcome.exit_code != 0:
                reason = self._failure_reason(outcome, failure)
                log.write([(_now(), "Reporting training FAILURE"), (_now(), reason)])
                self._upload(model=False)
                self._finish(SecondaryStatus.FAILED, reason, outcome.metrics)
                return
            log.write([(_now(), "Reporting training SUCCESS")])
            self._enter(SecondaryStatus.UPLOADING)
            self._upload(model=True)
        except TransferError as exc:
            if record.stop_cause is not None:  # a job that is Stopping ends Stopped
                self._finish(self._stop_status(), metrics=outcome.metrics)
            else:
                self._finish(SecondaryStatus.FAILED, str(exc), outcome.metrics)
            return
        self._finish(SecondaryStatus.COMPLETED, metrics=outcome.metrics)

    def _failure_reason(self, outcome: _Outcome, failure: FailureKind | None) -> str:
        if failure is FailureKind.INTERNAL:
            return failure.failure_reason
        if failure is FailureKind.ALGORITHM:
            return f'{failure.failure_reason}\nCommand "{outcome.command}", exit code: 1'
        failure_file = self.workspace.failure_file
        if failure_file.is_file():
            written = failure_file.read_text(errors="replace").strip()
            if written:
                return f"AlgorithmError: {written}"
        code = outcome.exit_code
        head = f'AlgorithmError: ExecuteUserScriptError:\nExitCode {code}\nErrorMessage "'
        tail = f'"\nCommand "{outcome.command}", exit code: {code}'
        # FailureReason holds 1024 characters: the end of stderr says most, keep that.
        room = max(0, MAX_FAILURE_REASON - len(head) - len(tail))
        message = "\n".join(outcome.stderr_tail).strip()
        return head + (message[-room:] if room else "") + tail
