"""What a job reads and writes around its script, as SageMaker's containers do: the inputs
downloaded before training (code, channels, checkpoints), the log's preamble and the
script's output lines (into the log and the metrics), and the FailureReason of a job that
failed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from byohpo.fake._cloudwatch import JobLog, MetricParser, MetricPublisher
from byohpo.fake._container import (
    PROGRAM_PARAM,
    SUBMIT_DIR_PARAM,
    JobSpec,
    Workspace,
    decode_hyperparameters,
)
from byohpo.fake._faults import FailureKind
from byohpo.fake._process import OutputLine
from byohpo.fake._training_jobs import MAX_FAILURE_REASON, MetricValue
from byohpo.fake._transfer import S3Location, S3Transfer


class JobFailure(Exception):
    """The job fails; the message is its FailureReason."""


@dataclass
class TrainingOutcome:
    """How training ended: the script's exit code and command, the end of its stderr, the
    final metric values, and whether the fake aborted it."""

    exit_code: int = 0
    command: str = ""
    stderr_tail: Sequence[str] = ()
    metrics: dict[str, MetricValue] = field(default_factory=dict)
    aborted: bool = False


def download_inputs(
    transfer: S3Transfer,
    spec: JobSpec,
    workspace: Workspace,
    checkpoint_uri: str | None,
    checkpoints_seen: dict[str, tuple[int, int]],
) -> None:
    """Code, channels and checkpoints into the workspace; ``JobFailure`` if the job cannot
    start (no entry point, a channel the fake cannot download)."""
    decoded = decode_hyperparameters(spec.hyperparameters)
    if not decoded.get(PROGRAM_PARAM):
        raise JobFailure(
            f"AlgorithmError: no entry point: the hyperparameter '{PROGRAM_PARAM}' is not "
            f"set. Script-mode jobs name their script in '{PROGRAM_PARAM}' and their "
            f"code archive in '{SUBMIT_DIR_PARAM}', as the SageMaker Python SDK sets them."
        )
    submit_dir = decoded.get(SUBMIT_DIR_PARAM)
    if submit_dir:
        transfer.extract_tarball(S3Location.parse(str(submit_dir)), workspace.code_dir)
    for channel in spec.channels:
        name = channel["ChannelName"]
        source = channel.get("DataSource") or {}
        s3 = source.get("S3DataSource")
        if not s3 or s3.get("S3DataType", "S3Prefix") != "S3Prefix":
            raise JobFailure(
                f"ClientError: channel '{name}': the fake SageMaker downloads S3Prefix data "
                "sources only."
            )
        destination = workspace.channel_dir(name)
        destination.mkdir(parents=True, exist_ok=True)
        transfer.download_prefix(S3Location.parse(s3["S3Uri"]), destination)
    if checkpoint_uri:
        transfer.sync_down(
            S3Location.parse(checkpoint_uri), workspace.checkpoint_dir, checkpoints_seen
        )


def write_preamble(log: JobLog, command_line: str, now: float) -> None:
    """The training toolkit's first lines: which command runs the script."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S,%f")[:-3]
    log.write(
        [
            (now, f"{stamp} sagemaker-training-toolkit INFO     Invoking user script"),
            (now, "Invoking script with the following command:"),
            (now, ""),
            (now, command_line),
            (now, ""),
        ]
    )


@dataclass
class ScriptOutput:
    """Where the script's output lines go: the job's log, and its metrics (unless the job's
    fate is to publish none)."""

    log: JobLog
    parser: MetricParser
    publisher: MetricPublisher | None
    metrics_missing: bool

    def emit(self, lines: Sequence[OutputLine]) -> None:
        if not lines:
            return
        self.log.write([(line.timestamp, line.text) for line in lines])
        points = [
            (line.timestamp, name, value)
            for line in lines
            for name, value in self.parser.feed(line.text, line.timestamp)
        ]
        if points and self.publisher is not None and not self.metrics_missing:
            self.publisher.publish(points)


def failure_reason(
    outcome: TrainingOutcome, failure: FailureKind | None, workspace: Workspace
) -> str:
    """SageMaker's FailureReason of a failed job: an injected failure's, the script's
    ``/opt/ml/output/failure`` file, else its exit code and the end of its stderr."""
    if failure is FailureKind.INTERNAL:
        return failure.failure_reason
    if failure is FailureKind.ALGORITHM:
        return f'{failure.failure_reason}\nCommand "{outcome.command}", exit code: 1'
    failure_file = workspace.failure_file
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
