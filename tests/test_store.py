"""The study store: durable, append-only, and readable after a crash mid-write."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from byohpo.errors import StoreError
from byohpo.study.store import LocalEventLog, S3EventLog, Store, replay


def asked(*ids: int) -> dict[str, object]:
    return {
        "event": "asked",
        "trials": [
            {
                "trial_id": i,
                "config": {"x": i},
                "hyperparameters": {"x": str(i)},
                "job_name": f"s-t{i:05d}",
            }
            for i in ids
        ],
        "snapshot": {"state": list(ids)},
    }


def test_events_are_replayed_into_trials(tmp_path: Path) -> None:
    store = Store(tmp_path / "study")
    store.record({"event": "study", "name": "s"}, asked(0, 1))
    store.record({"event": "submitted", "trial_id": 0, "job_name": "s-t00000"})
    store.record({"event": "result", "trial_id": 0, "status": "Completed", "metrics": {"acc": 0.9}})
    store.record({"event": "told", "trial_ids": [0], "snapshot": {"state": "after"}})
    log = store.load()
    assert log.name == "s"
    assert log.trials[0].status == "Completed" and log.trials[0].told
    assert log.trials[1].status == "Planned" and not log.trials[1].submitted
    assert log.snapshot == {"state": "after"}
    assert log.result_order == [0]


def test_a_torn_last_line_is_ignored_and_the_next_append_starts_clean(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path)
    log.append([{"event": "study", "name": "s"}, asked(0)])
    with open(log.path, "a") as f:
        f.write('{"event": "result", "trial_id": 0, "sta')  # the process died here
    assert [e["event"] for e in log.read()] == ["study", "asked"]
    log.append([{"event": "submitted", "trial_id": 0}])
    assert [e["event"] for e in log.read()] == ["study", "asked", "submitted"]


def test_damage_in_the_middle_is_reported_not_skipped(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path)
    log.path.write_text('{"event": "study"}\nnot json\n{"event": "asked", "trials": []}\n')
    with pytest.raises(StoreError, match="line 2 is not JSON"):
        log.read()


def test_one_asked_line_carries_trials_and_snapshot_together(tmp_path: Path) -> None:
    store = Store(tmp_path)
    store.record(asked(0, 1, 2))
    lines = (tmp_path / "events.jsonl").read_text().splitlines()
    assert len(lines) == 1
    event = json.loads(lines[0])
    assert len(event["trials"]) == 3 and event["snapshot"] == {"state": [0, 1, 2]}


def test_the_log_can_live_in_s3() -> None:
    moto = pytest.importorskip("moto")
    with moto.mock_aws():
        s3 = boto3.client("s3", region_name="us-east-1")
        s3.create_bucket(Bucket="studies")
        store = Store(S3EventLog("s3://studies/team/digits", client=s3))
        assert not store.exists()
        store.record({"event": "study", "name": "digits"}, asked(0))
        store.record(
            {"event": "result", "trial_id": 0, "status": "Failed", "failure_reason": "boom"}
        )
        fresh = Store(S3EventLog("s3://studies/team/digits", client=s3))
        log = fresh.load()
        assert log.trials[0].failure_reason == "boom"
        assert s3.head_object(Bucket="studies", Key="team/digits/events.jsonl")["ContentLength"] > 0


def test_unknown_events_are_skipped_for_forward_compatibility() -> None:
    log = replay([{"event": "study", "name": "s"}, {"event": "from-the-future"}, asked(0)])
    assert list(log.trials) == [0]
