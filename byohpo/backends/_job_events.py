"""Status by events: training jobs' state changes from EventBridge, through an SQS queue.

SageMaker publishes every training job's state change to EventBridge
(detail-type ``SageMaker Training Job State Change``, source ``aws.sagemaker``,
the job's description in ``detail``). A rule sends this account's byohpo jobs'
events to an SQS queue (``infra/template.yaml`` makes both); the backend reads
the queue instead of listing SageMaker, so a study learns of an ended job within
seconds and pays one DescribeTrainingJob for it, as when polling.

SQS delivers at least once and EventBridge may, rarely, drop an event, so:

- a duplicate, or an event older than one already seen, changes nothing (a job
  that ended never goes back, and an ended job is described once);
- an event of another study's job is dropped (deleted, never reported);
- a lost event is caught by a slow listing of SageMaker (:class:`EventWatch`'s
  safety net); when that listing finds an ended job whose event never came, the
  safety net tightens (the queue or its rule may be broken) and a warning says so.

:class:`EventWatch` holds the bookkeeping shared by the SageMaker backend and the
simulator; :class:`EventQueue` is the SQS side.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, MutableMapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from byohpo._clock import Clock
from byohpo.backends._request import trial_id_from_name
from byohpo.backends._retry import RetryingCaller, error_code
from byohpo.errors import UserError
from byohpo.trial import JobState, JobStatus

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

log = logging.getLogger(__name__)

EVENT_SOURCE = "aws.sagemaker"
TRAINING_JOB_STATE_CHANGE = "SageMaker Training Job State Change"
MAX_WAIT_SECONDS = 20
"""The longest long poll SQS takes (``WaitTimeSeconds``)."""
RECEIVE_BATCH = 10
"""The most messages one ReceiveMessage returns."""
DEFAULT_SAFETY_NET_SECONDS = 7200.0
"""How often, at most, SageMaker is listed to catch an event that never came."""
MIN_SAFETY_NET_SECONDS = 60.0
"""The safety net never lists more often than this, even after missed events."""
QUIET_SECONDS = 300.0
"""No event at all of a study's jobs this long after polling began: the rule or the queue is
broken (SageMaker publishes a job's first change within seconds of its creation)."""
EVENT_GRACE_SECONDS = 60.0
"""A job that ended longer ago than this, found by the safety net with no event: missed."""
_QUEUE_URL = re.compile(r"^https?://[^/\s]+/\d{12}/[A-Za-z0-9_-]{1,80}(\.fifo)?$")


@dataclass(frozen=True)
class JobStateChange:
    """One training job's state, as an event told it."""

    job_name: str
    status: JobStatus
    secondary_status: str | None = None
    changed_at: float | None = None
    """``LastModifiedTime`` of the job in the event, in epoch seconds (orders the events)."""

    def later_than(self, other: JobStateChange) -> bool:
        """Whether this change supersedes ``other``: an end is final, else the newer one."""
        if other.status.is_terminal:
            return False
        if self.status.is_terminal:
            return True
        if self.changed_at is None or other.changed_at is None:
            return True
        return self.changed_at >= other.changed_at


def _epoch(value: Any) -> float | None:
    """Event times are epoch milliseconds (numbers) in SageMaker's events; ISO text tolerated."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value) / 1000.0
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def parse_event(body: str | Mapping[str, Any]) -> JobStateChange | None:
    """The state change an EventBridge event (an SQS message body) tells, or None when it is
    not a training job's state change that byohpo can read."""
    try:
        event = json.loads(body) if isinstance(body, str) else dict(body)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    if event.get("detail-type") != TRAINING_JOB_STATE_CHANGE:
        return None
    if event.get("source") != EVENT_SOURCE:
        return None
    detail = event.get("detail")
    if not isinstance(detail, dict):
        return None
    name, status = detail.get("TrainingJobName"), detail.get("TrainingJobStatus")
    if not isinstance(name, str) or status not in {s.value for s in JobStatus}:
        return None
    secondary = detail.get("SecondaryStatus")
    return JobStateChange(
        job_name=name,
        status=JobStatus(status),
        secondary_status=secondary if isinstance(secondary, str) else None,
        changed_at=_epoch(detail.get("LastModifiedTime")),
    )


def rule_pattern(name_prefix: str | None = None) -> dict[str, Any]:
    """The EventBridge pattern of the rule that sends training jobs' state changes to the
    queue: those of jobs whose name starts with ``name_prefix`` (all of them without one)."""
    pattern: dict[str, Any] = {"source": [EVENT_SOURCE], "detail-type": [TRAINING_JOB_STATE_CHANGE]}
    if name_prefix:
        pattern["detail"] = {"TrainingJobName": [{"prefix": name_prefix}]}
    return pattern


def check_wait_seconds(seconds: int) -> int:
    """A long poll's wait, 0 to 20 seconds, else a clear error."""
    if isinstance(seconds, bool) or not isinstance(seconds, int) or not 0 <= seconds <= 20:
        raise UserError(
            f"events_wait_seconds must be a whole number from 0 to {MAX_WAIT_SECONDS} "
            "(SQS's long poll)",
            repr(seconds),
            f"Give 0 to read the queue only when polling, up to {MAX_WAIT_SECONDS} to wake as "
            "soon as a job ends.",
        )
    return seconds


def check_safety_net(seconds: float) -> float:
    """The longest time between two safety-net listings, else a clear error."""
    number = isinstance(seconds, int | float) and not isinstance(seconds, bool)
    if not number or not seconds >= MIN_SAFETY_NET_SECONDS:
        raise UserError(
            f"safety_net_seconds must be at least {MIN_SAFETY_NET_SECONDS:g} s",
            f"{seconds!r}",
            "Give a longer safety net (events carry the news; the listing only catches an "
            "event that never came).",
        )
    return float(seconds)


class EventWatch:
    """What the events told of one study's jobs, and when SageMaker must be listed anyway.

    ``prefix`` is the study's job-name prefix: events of other jobs are ignored.
    ``safety_net_seconds`` is the longest time between two listings of SageMaker while
    jobs run (first listing one interval after the watch starts); each listing that finds
    an ended job whose event never came halves it (down to :data:`MIN_SAFETY_NET_SECONDS`).
    """

    def __init__(self, prefix: str, safety_net_seconds: float, now: float) -> None:
        self.prefix = prefix
        self.safety_net_seconds = check_safety_net(safety_net_seconds)
        self._last_listing = now
        self._opened = now
        self._since: float | None = None
        self.heard = False
        """Whether any event of this study's jobs came (a job's first comes within seconds)."""
        self._latest: dict[str, JobStateChange] = {}
        self.ignored = 0
        """Events of other studies' jobs (or not training job state changes) dropped."""
        self.missed: list[str] = []
        """Jobs whose end the safety net found before any event told it."""

    def take(self, changes: Iterable[JobStateChange | None]) -> int:
        """Record what the events tell; the number of this study's jobs newly known ended."""
        ended = 0
        for change in changes:
            if change is None or trial_id_from_name(self.prefix, change.job_name) is None:
                self.ignored += 1
                continue
            self.heard = True
            known = self._latest.get(change.job_name)
            if known is None or change.later_than(known):
                self._latest[change.job_name] = change
                ended += change.status.is_terminal and not (known and known.status.is_terminal)
        return ended

    def ended(self, job_names: Iterable[str]) -> list[str]:
        """Which of ``job_names`` an event told ended."""
        return [n for n in job_names if (c := self._latest.get(n)) and c.status.is_terminal]

    def state(self, job_name: str, created: datetime | None) -> JobState:
        """A running job's state as the events tell it (``InProgress`` before any event)."""
        change = self._latest.get(job_name)
        status = change.status if change and not change.status.is_terminal else None
        return JobState(
            job_name=job_name,
            status=status or JobStatus.IN_PROGRESS,
            secondary_status=change.secondary_status if change else "Starting",
            trial_id=trial_id_from_name(self.prefix, job_name),
            creation_time=created,
        )

    def expect(self, created_at: float) -> None:
        """A job of the study created then (by this process: after the watch began) must be
        heard of within :data:`QUIET_SECONDS`: its first state change comes at once."""
        if created_at >= self._opened and (self._since is None or created_at < self._since):
            self._since = created_at

    def listing_due(self, now: float) -> bool:
        """Whether the safety net should list SageMaker now. After :data:`QUIET_SECONDS` with
        no event at all, the events are taken for broken: listing as often as it may."""
        quiet = not self.heard and self._since is not None and now - self._since >= QUIET_SECONDS
        if quiet and self.safety_net_seconds > MIN_SAFETY_NET_SECONDS:
            log.warning(
                "no job event came in %.0f s: listing SageMaker every %.0f s instead. Check the "
                "EventBridge rule and the queue's policy (infra/template.yaml).",
                now - (self._since or now),
                MIN_SAFETY_NET_SECONDS,
            )
            self.safety_net_seconds = MIN_SAFETY_NET_SECONDS
        return now - self._last_listing >= self.safety_net_seconds

    def listed(self, now: float, ended_without_event: Iterable[str]) -> None:
        """A safety-net listing ran; it found these jobs ended with no event about them."""
        self._last_listing = now
        missed = list(ended_without_event)
        if not missed:
            return
        self.missed += missed
        before = self.safety_net_seconds
        self.safety_net_seconds = max(MIN_SAFETY_NET_SECONDS, before / 2)
        log.warning(
            "no event came for %d ended job(s) (%s); listing SageMaker every %.0f s instead of "
            "%.0f s. Check the EventBridge rule and the queue's policy (infra/template.yaml).",
            len(missed),
            ", ".join(missed[:3]),
            self.safety_net_seconds,
            before,
        )

    def forget(self, job_name: str) -> None:
        """The study has what it needs of this job (described once it ended)."""
        self._latest.pop(job_name, None)


def check_queue_url(url: str) -> str:
    """``url`` if it looks like an SQS queue URL, else a clear error before anything runs."""
    if not isinstance(url, str) or not _QUEUE_URL.match(url):
        raise UserError(
            "events_queue must be an SQS queue URL",
            repr(url),
            "Give the stack's JobEventsQueueUrl output, e.g. "
            "https://sqs.us-east-1.amazonaws.com/123456789012/byohpo-digits-ga-job-events.",
        )
    return url


class EventQueue:
    """The study's SQS queue of job events: long-poll receives, and deletes what was read.

    ``call`` sends each request (retried and counted: ``ReceiveMessage`` and
    ``DeleteMessageBatch`` show in the backend's ``api_calls``). Every message received is
    deleted, read or not: another study's event in this queue would otherwise come back
    again and again.
    """

    def __init__(self, client: SQSClient, url: str, call: RetryingCaller) -> None:
        self.client = client
        self.url = check_queue_url(url)
        self._call = call

    def check(self) -> list[JobStateChange | None]:
        """Read what waits in the queue now, failing clearly, before any job is launched, if
        the queue cannot be read (no other permission is needed than reading it)."""
        try:
            return self.receive(0)
        except ClientError as exc:
            raise UserError(
                "the events queue must exist and be readable with these credentials "
                "(sqs:ReceiveMessage and sqs:DeleteMessage)",
                f"{self.url} ({error_code(exc)})",
                "Deploy infra/template.yaml and give its JobEventsQueueUrl output, or leave "
                "events_queue out to poll SageMaker instead.",
            ) from exc

    def receive(self, wait_seconds: int) -> list[JobStateChange | None]:
        """One ReceiveMessage (waiting up to ``wait_seconds`` for a first message), then one
        DeleteMessageBatch for what came. None stands for a message that is no job event."""
        wait = max(0, min(MAX_WAIT_SECONDS, int(wait_seconds)))
        answer = self._call(
            "ReceiveMessage",
            self.client.receive_message,
            QueueUrl=self.url,
            MaxNumberOfMessages=RECEIVE_BATCH,
            WaitTimeSeconds=wait,
        )
        messages = answer.get("Messages", [])
        if not messages:
            return []
        changes = [parse_event(m.get("Body", "")) for m in messages]
        entries = [
            {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
        ]
        self._call(
            "DeleteMessageBatch",
            self.client.delete_message_batch,
            QueueUrl=self.url,
            Entries=entries,
        )
        return changes

    def drain(self, rounds: int = 10) -> list[JobStateChange | None]:
        """Every message waiting now (without waiting), in at most ``rounds`` receives."""
        found: list[JobStateChange | None] = []
        for _ in range(rounds):
            batch = self.receive(0)
            found += batch
            if len(batch) < RECEIVE_BATCH:
                break
        return found


class StudyEvents:
    """The SageMaker backend's side of status by events: its queue and its watch.

    :meth:`poll` and :meth:`after_safety_net` are the two steps
    :meth:`SageMakerBackend.poll <byohpo.backends._sagemaker.SageMakerBackend.poll>` takes
    around its listing; :meth:`wait` is its wait between polls.
    """

    def __init__(self, queue: EventQueue, watch: EventWatch, wait_seconds: int, clock: Clock):
        self.queue = queue
        self.watch = watch
        self.wait_seconds = wait_seconds
        self.clock = clock

    def poll(
        self,
        pending: list[str],
        states: MutableMapping[str, JobState],
        final: MutableMapping[str, JobState],
        describe: Callable[[str], JobState],
        created: Mapping[str, datetime],
    ) -> list[str]:
        """Describe the jobs whose end an event told (once each); the others keep the state
        the events gave them. Returns the jobs to list anyway: all the others once the safety
        net is due, else none."""
        watch = self.watch
        watch.take(self.queue.drain())
        for name in pending:
            if (created_at := created.get(name)) is not None:
                watch.expect(created_at.timestamp())
        for name in watch.ended(pending):
            state = describe(name)
            if state.status.is_terminal:
                final[name] = state
                watch.forget(name)
            states[name] = state
        rest = [n for n in pending if n not in states]
        if rest and watch.listing_due(self.clock.now()):
            return rest
        for name in rest:
            states[name] = watch.state(name, created.get(name))
        return []

    def after_safety_net(self, listed: Iterable[str], final: Mapping[str, JobState]) -> None:
        """The safety net listed these jobs: note those it found ended with no event."""
        now = self.clock.now()
        ended = [final[n] for n in listed if n in final]
        for state in ended:
            self.watch.forget(state.job_name)
        late = now - EVENT_GRACE_SECONDS
        missed = [s.job_name for s in ended if s.end_time and s.end_time.timestamp() < late]
        self.watch.listed(now, missed)

    def wait(self, seconds: float, clock: Clock) -> None:
        """Wait ``seconds`` on the queue (long polls), returning as soon as one of the study's
        jobs ended. With ``wait_seconds`` 0, a plain sleep: the queue is read when polling."""
        remaining = seconds
        while self.wait_seconds and remaining >= 1:
            wait = min(self.wait_seconds, int(remaining))
            started = clock.now()
            batch = self.queue.receive(wait)
            if self.watch.take(batch):
                return
            elapsed = clock.now() - started
            remaining -= elapsed if batch else max(elapsed, wait)
        clock.sleep(remaining)
