"""Status by events: reading SageMaker's EventBridge events, and what a lost, repeated or late
one does (nothing a user would see, but a later notice)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from byohpo.backends._job_events import (
    EVENT_SOURCE,
    MIN_SAFETY_NET_SECONDS,
    TRAINING_JOB_STATE_CHANGE,
    EventWatch,
    JobStateChange,
    check_queue_url,
    check_wait_seconds,
    parse_event,
    rule_pattern,
)
from byohpo.backends._sagemaker import SageMakerBackend
from byohpo.errors import UserError
from byohpo.trial import JobStatus

PREFIX = "digits-ga-k3x9q2ma"


def event(name: str, status: str, secondary: str, modified_ms: int = 1_767_225_600_000) -> str:
    """An event as SageMaker publishes it and SQS hands it over (the message body)."""
    return json.dumps(
        {
            "version": "0",
            "id": "0b6c7c0e-1111-2222-3333-444455556666",
            "detail-type": TRAINING_JOB_STATE_CHANGE,
            "source": EVENT_SOURCE,
            "account": "123456789012",
            "time": "2026-01-01T00:00:00Z",
            "region": "us-east-1",
            "resources": [f"arn:aws:sagemaker:us-east-1:123456789012:training-job/{name}"],
            "detail": {
                "TrainingJobName": name,
                "TrainingJobStatus": status,
                "SecondaryStatus": secondary,
                "CreationTime": modified_ms - 60_000,
                "LastModifiedTime": modified_ms,
                "Tags": {"byohpo:study": "digits-ga"},
            },
        }
    )


def test_an_event_tells_the_job_its_status_and_when() -> None:
    change = parse_event(event(f"{PREFIX}-t00003", "Completed", "Completed"))
    assert change == JobStateChange(
        f"{PREFIX}-t00003", JobStatus.COMPLETED, "Completed", 1_767_225_600.0
    )


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        "[]",
        json.dumps({"detail-type": "SageMaker Endpoint State Change", "source": EVENT_SOURCE}),
        event("x-t00001", "Completed", "Completed").replace(EVENT_SOURCE, "my.app"),
        event("x-t00001", "Exploded", "Completed"),
        json.dumps({"detail-type": TRAINING_JOB_STATE_CHANGE, "source": EVENT_SOURCE}),
    ],
)
def test_anything_else_in_the_queue_is_not_a_job_change(body: str) -> None:
    assert parse_event(body) is None


def watch(now: float = 0.0, safety_net: float = 600.0) -> EventWatch:
    return EventWatch(PREFIX, safety_net, now)


def test_repeated_and_late_events_change_nothing() -> None:
    w = watch()
    name = f"{PREFIX}-t00001"
    ended = parse_event(event(name, "Completed", "Completed", 2_000))
    training = parse_event(event(name, "InProgress", "Training", 1_000))
    assert w.take([ended]) == 1
    assert w.take([ended, training]) == 0  # SQS delivered it twice; Training came late
    assert w.ended([name]) == [name]
    starting = parse_event(event(f"{PREFIX}-t00002", "InProgress", "Starting", 1_000))
    older = parse_event(event(f"{PREFIX}-t00002", "InProgress", "Downloading", 500))
    w.take([starting, older])
    assert w.state(f"{PREFIX}-t00002", None).secondary_status == "Starting"


def test_other_studies_jobs_are_ignored() -> None:
    w = watch()
    other = [
        parse_event(event("digits-ga-zzzzzzzz-t00001", "Completed", "Completed")),
        parse_event(event(f"{PREFIX}-t00001-copy", "Completed", "Completed")),
        None,
    ]
    assert w.take(other) == 0
    assert w.ended(["digits-ga-zzzzzzzz-t00001"]) == []
    assert w.ignored == 3


def test_a_running_job_with_no_event_yet_is_starting() -> None:
    state = watch().state(f"{PREFIX}-t00007", None)
    assert (state.status, state.secondary_status, state.trial_id) == (
        JobStatus.IN_PROGRESS,
        "Starting",
        7,
    )


def test_the_safety_net_tightens_when_events_go_missing() -> None:
    w = watch(now=0.0, safety_net=600.0)
    w.take([parse_event(event(f"{PREFIX}-t00003", "InProgress", "Starting"))])  # events flow
    assert not w.listing_due(599.0) and w.listing_due(600.0)
    w.listed(600.0, [])
    assert w.safety_net_seconds == 600.0 and not w.listing_due(1000.0)
    w.listed(1200.0, [f"{PREFIX}-t00001"])
    assert w.safety_net_seconds == 300.0 and w.missed == [f"{PREFIX}-t00001"]
    for _ in range(10):
        w.listed(1200.0, [f"{PREFIX}-t00002"])
    assert w.safety_net_seconds == MIN_SAFETY_NET_SECONDS


def test_the_rule_matches_the_study_s_jobs_by_name() -> None:
    assert rule_pattern("digits-ga-") == {
        "source": ["aws.sagemaker"],
        "detail-type": ["SageMaker Training Job State Change"],
        "detail": {"TrainingJobName": [{"prefix": "digits-ga-"}]},
    }


@pytest.mark.parametrize(
    "options",
    [
        {"events_queue": "byohpo-digits-ga-job-events"},
        {"events_queue": "arn:aws:sqs:us-east-1:123456789012:q"},
        {
            "events_queue": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            "events_wait_seconds": 30,
        },
        {
            "events_queue": "https://sqs.us-east-1.amazonaws.com/123456789012/q",
            "safety_net_seconds": 5,
        },
    ],
)
def test_a_wrong_events_setting_is_refused_before_anything_runs(options: dict[str, Any]) -> None:
    with pytest.raises(UserError) as raised:
        SageMakerBackend(region="us-east-1", **options)
    assert isinstance(raised.value, ValueError)
    assert "Give" in str(raised.value)


def test_a_queue_url_and_a_wait_are_taken_as_given() -> None:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/byohpo-digits-ga-job-events"
    assert check_queue_url(url) == url
    assert check_wait_seconds(0) == 0 and check_wait_seconds(20) == 20


def test_no_event_at_all_for_minutes_means_broken_events_and_listing_often() -> None:
    w = watch(now=0.0, safety_net=7200.0)
    assert not w.listing_due(3000.0)  # no job launched by this process yet: nothing to hear
    w = watch(now=0.0, safety_net=7200.0)
    w.expect(-50.0)  # a job of an earlier process (a resume): its first events are long gone
    w.expect(0.0)
    assert not w.listing_due(299.0)
    assert w.listing_due(300.0)  # nothing heard in five minutes: the rule or queue is broken
    assert w.safety_net_seconds == MIN_SAFETY_NET_SECONDS
    heard = watch(now=0.0, safety_net=7200.0)
    heard.take([parse_event(event(f"{PREFIX}-t00001", "InProgress", "Starting"))])
    assert not heard.listing_due(3600.0) and heard.safety_net_seconds == 7200.0
