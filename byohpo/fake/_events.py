"""SageMaker's job events in the fake: each state change on moto's EventBridge.

SageMaker publishes a "SageMaker Training Job State Change" event whenever a
training job's status or secondary status changes. :class:`JobEventPublisher`
does the same for the fake's jobs: it watches the job store and puts each change
on moto's default event bus, and moto delivers it to the SQS targets of the rules
that match, as EventBridge does. :func:`create_events_queue` makes such a rule and
its queue, so a dry run can use status by events end to end
(``FakeSageMaker(events=True)``).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from botocore.client import BaseClient

from byohpo.backends._job_events import EVENT_SOURCE, TRAINING_JOB_STATE_CHANGE, rule_pattern
from byohpo.errors import UserError
from byohpo.fake._training_jobs import JobStore, TrainingJobRecord

log = logging.getLogger(__name__)

EVENTS_QUEUE_NAME = "byohpo-job-events"
"""The queue (and rule) name the fake makes for status by events."""
PUT_EVENTS_BATCH = 10
"""The most entries one PutEvents takes."""
_QUEUE_NAME = re.compile(r"[A-Za-z0-9_-]{1,80}")
_TIMES = ("CreationTime", "LastModifiedTime", "TrainingStartTime", "TrainingEndTime")


MOTO_ACCOUNT_ID = "123456789012"


def queue_url(region: str, account_id: str = MOTO_ACCOUNT_ID, name: str = EVENTS_QUEUE_NAME) -> str:
    """The URL moto gives a queue of that name (in moto's account by default)."""
    return f"https://sqs.{region}.amazonaws.com/{account_id}/{name}"


def events_queue_name(events: bool | str) -> str:
    """The fake's queue name for ``events``: True gives :data:`EVENTS_QUEUE_NAME`; a name, or
    a queue URL (``https://sqs.REGION.amazonaws.com/ACCOUNT/NAME``), gives that name."""
    if events is True:
        return EVENTS_QUEUE_NAME
    name = str(events).rstrip("/").rsplit("/", 1)[-1]
    if not _QUEUE_NAME.fullmatch(name):
        raise UserError(
            "an events queue is named by 1 to 80 letters, digits, '-' or '_' (or by its URL)",
            repr(events),
            "Give the queue's URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/"
            "byohpo-digits-ga-job-events, or its name.",
        )
    return name


def create_events_queue(events: BaseClient, sqs: BaseClient, name: str = EVENTS_QUEUE_NAME) -> str:
    """Create the queue and the rule sending every training job state change to it (as
    ``infra/template.yaml`` does for one study); returns the queue URL. Idempotent."""
    url = str(sqs.create_queue(QueueName=name)["QueueUrl"])  # type: ignore[attr-defined]
    attributes = sqs.get_queue_attributes(  # type: ignore[attr-defined]
        QueueUrl=url, AttributeNames=["QueueArn"]
    )
    events.put_rule(  # type: ignore[attr-defined]
        Name=name, EventPattern=json.dumps(rule_pattern()), State="ENABLED"
    )
    events.put_targets(  # type: ignore[attr-defined]
        Rule=name, Targets=[{"Id": "queue", "Arn": attributes["Attributes"]["QueueArn"]}]
    )
    return url


def event_entry(description: Mapping[str, Any], tags: Mapping[str, str]) -> dict[str, Any]:
    """The PutEvents entry for a job in this state (its DescribeTrainingJob answer), shaped
    as SageMaker's event: times in epoch milliseconds, tags as a map."""
    detail = dict(description)
    for key in _TIMES:
        if isinstance(detail.get(key), int | float):
            detail[key] = int(detail[key] * 1000)
    detail["Tags"] = dict(tags)
    return {
        "Source": EVENT_SOURCE,
        "DetailType": TRAINING_JOB_STATE_CHANGE,
        "Resources": [str(description["TrainingJobArn"])],
        "Detail": json.dumps(detail, default=str),
        "Time": datetime.now(UTC),
    }


class JobEventPublisher:
    """Puts an event on moto's EventBridge for each state change of the fake's jobs.

    A thread waits on the store's changes; each wake it compares every job's status and
    secondary status with what it last published and publishes the differences, outside
    the store's lock. A change undone before the thread looked is not published (SageMaker
    too may fold quick changes together); an end never is missed, since it is final.
    """

    def __init__(self, store: JobStore, events: BaseClient, spot_savings: float) -> None:
        self._store = store
        self._events = events
        self._spot_savings = spot_savings
        self._published: dict[str, tuple[str, str]] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="byohpo-fake-events", daemon=True)
        self.published = 0
        """Events put on the bus so far."""

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._store.lock:
            self._store.changed.notify_all()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _changes(self) -> list[dict[str, Any]]:
        entries = []
        now = datetime.now(UTC).timestamp()
        for record in self._store.all():
            state = (record.status.value, record.secondary_status.value)
            if self._published.get(record.arn) != state:
                self._published[record.arn] = state
                entries.append(self._entry(record, now))
        return entries

    def _entry(self, record: TrainingJobRecord, now: float) -> dict[str, Any]:
        return event_entry(record.describe(now, self._spot_savings), record.tags)

    def _run(self) -> None:
        while not self._stopping.is_set():
            with self._store.lock:
                self._store.changed.wait(timeout=0.1)
                entries = self._changes()
            for start in range(0, len(entries), PUT_EVENTS_BATCH):
                try:
                    self._events.put_events(  # type: ignore[attr-defined]
                        Entries=entries[start : start + PUT_EVENTS_BATCH]
                    )
                    self.published += len(entries[start : start + PUT_EVENTS_BATCH])
                except Exception:  # the fake's EventBridge failing is a lost event, no more
                    log.exception("the fake could not publish job events")
