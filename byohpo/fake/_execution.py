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
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.client import BaseClient

from byohpo.fake._cloudwatch import JobLog, MetricParser, MetricPublisher
from byohpo.fake._container import (
    PROGRAM_PARAM,
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
from byohpo.fake._job_io import (
    JobFailure,
    ScriptOutput,
    TrainingOutcome,
    download_inputs,
    failure_reason,
    write_preamble,
)
from byohpo.fake._process import ScriptProcess
from byohpo.fake._training_jobs import (
    JobStore,
    MetricValue,
    SecondaryStatus,
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
        cause = record.limit_reached(now)
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
                download_inputs(
                    self._transfer,
                    self._spec,
                    self.workspace,
                    self._checkpoint_uri,
                    self._checkpoints_seen,
                )
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

    def _sync_checkpoints(self) -> None:
        if self._checkpoint_uri:
            self._transfer.sync_up(
                self.workspace.checkpoint_dir,
                S3Location.parse(self._checkpoint_uri),
                self._checkpoints_seen,
            )

    # --- training -------------------------------------------------------------------------

    def _train_script(self, log: JobLog) -> TrainingOutcome:
        settings = self._settings
        decoded = decode_hyperparameters(self._spec.hyperparameters)
        args = command_args(user_hyperparameters(decoded))
        python = interpreter(settings.python, self._image)
        argv = command(python, str(decoded[PROGRAM_PARAM]), args)
        command_line = " ".join(argv)
        parser = MetricParser(self.record.metric_definitions)
        output = ScriptOutput(
            log,
            parser,
            MetricPublisher(self._metrics_client, self.record.name)
            if self._metrics_client is not None
            else None,
            self.record.fate.metrics_missing,
        )
        write_preamble(log, command_line, _now())
        process = ScriptProcess(
            argv, self.workspace.code_dir, environment(self.workspace, self._spec, args)
        )
        try:
            pid = process.start()
        except OSError as exc:
            return TrainingOutcome(exit_code=127, command=command_line, stderr_tail=[str(exc)])
        self._process = process
        self._change(lambda r: setattr(r, "pid", pid))
        stderr_tail: deque[str] = deque(maxlen=_STDERR_TAIL_LINES)
        exited_at: float | None = None
        kill_at: float | None = None
        next_sync = time.monotonic() + settings.checkpoint_sync_seconds
        while not process.finished:
            lines = process.read_lines(timeout=_POLL_SECONDS)
            if lines:
                output.emit(lines)
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
        output.emit(process.read_lines(timeout=0))
        exit_code = 0 if code is None else (128 - code if code < 0 else code)
        self._change(lambda r: setattr(r, "exit_code", exit_code))
        return TrainingOutcome(
            exit_code=exit_code,
            command=command_line,
            stderr_tail=list(stderr_tail),
            metrics=parser.final(),
            aborted=self._aborted.is_set(),
        )

    def _train_instant(self, log: JobLog) -> TrainingOutcome:
        settings = self._settings
        write_preamble(log, "(instant mode: no script runs)", _now())
        deadline = time.monotonic() + settings.instant_training_seconds
        while time.monotonic() < deadline and not self._stopping:
            self._check_limits()
            self._store.wait_until(
                lambda: self._stopping, timeout=min(_POLL_SECONDS * 4, deadline - time.monotonic())
            )
        if self._stopping:
            return TrainingOutcome(aborted=self._aborted.is_set())
        hyperparameters = user_hyperparameters(decode_hyperparameters(self._spec.hyperparameters))
        try:
            values = dict(settings.metrics_fn(hyperparameters)) if settings.metrics_fn else {}
        except Exception as exc:  # the function stands for the script: its error fails the job
            lines = traceback.format_exception_only(type(exc), exc)
            log.write([(_now(), line.rstrip("\n")) for line in lines])
            return TrainingOutcome(exit_code=1, command="metrics_fn", stderr_tail=lines)
        now = _now()
        log.write([(now, f"{name}={value}") for name, value in values.items()])
        defined = [d["Name"] for d in self.record.metric_definitions]
        metrics = {
            name: MetricValue(float(values[name]), now)
            for name in defined
            if name in values and math.isfinite(float(values[name]))
        }
        return TrainingOutcome(metrics=metrics)

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

    def _conclude(self, outcome: TrainingOutcome, log: JobLog) -> None:
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
                reason = failure_reason(outcome, failure, self.workspace)
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
