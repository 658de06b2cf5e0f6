"""The local and S3 stores' own promises: torn tails, damage named, segments, compaction."""

from __future__ import annotations

import json
from pathlib import Path

import boto3
import pytest

from byohpo.errors import ConcurrentWriterError, NewerLogError
from byohpo.study import _s3_log as s3_log
from byohpo.study._events import ResultRecorded, TrialsAsked
from byohpo.study._s3_log import S3EventLog
from byohpo.study._store import LocalEventLog, Store, replay

from .study.events_for_tests import one_trial, spec, study


def test_a_torn_last_line_is_ignored_and_the_next_append_starts_clean(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path)
    log.append([study(), *one_trial(0, 0.5)])
    with open(log.path, "a") as f:
        f.write('{"event": "result", "trial_id": 0, "sta')  # the process died here
    assert Store(log).load().damage == []
    log.append([ResultRecorded(1, "Failed", failure_reason="boom")])
    lines = log.path.read_text().splitlines()
    assert all(json.loads(line) for line in lines)
    assert json.loads(lines[-1])["trial_id"] == 1


def test_a_garbage_line_in_the_middle_is_named_and_the_rest_is_read(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path)
    log.append([study(), *one_trial(0, 0.5)])
    with open(log.path, "a") as f:
        f.write("this is not an event\n")
    log.append(one_trial(1, 0.7))
    state = Store(log).load()
    assert sorted(state.trials) == [0, 1]
    (damage,) = state.damage
    assert "line 6" in damage and "not JSON" in damage and "this is not an event" in damage


def test_an_event_missing_a_field_is_damage_not_a_key_error(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path)
    log.append([study()])
    with open(log.path, "a") as f:
        f.write('{"event": "result", "status": "Completed"}\n')
    (damage,) = Store(log).load().damage
    assert "line 2" in damage and "'result' event" in damage and "trial_id" in damage


def test_a_log_from_a_newer_byohpo_is_refused_with_the_fix(tmp_path: Path) -> None:
    log = LocalEventLog(tmp_path)
    log.path.parent.mkdir(exist_ok=True)
    log.path.write_text('{"event":"study","format":99,"name":"s"}\n')
    with pytest.raises(NewerLogError, match=r"format 99.*pip install --upgrade byohpo"):
        Store(log).load()


def test_a_format_1_log_is_read_with_its_snapshots_as_checkpoints() -> None:
    legacy = [
        {"event": "study", "format": 1, "name": "old"},
        {
            "event": "asked",
            "trials": [{"trial_id": 0, "config": {"x": 1}, "hyperparameters": {"x": "1"}}],
            "snapshot": {"state": "after ask"},
        },
        {"event": "result", "trial_id": 0, "status": "Completed", "metrics": {"acc": 0.9}},
        {"event": "told", "trial_ids": [0], "snapshot": {"state": "after tell"}},
        {"event": "from-the-future"},
    ]
    log = replay(legacy)
    assert log.study_id is None and log.snapshot == {"state": "after tell"}
    assert log.since_snapshot == [] and log.trials[0].told


def s3_client() -> object:
    client = boto3.client("s3", region_name="us-east-1")
    client.create_bucket(Bucket="studies")
    return client


def keys(client: object, prefix: str) -> list[str]:
    listed = client.list_objects_v2(Bucket="studies", Prefix=prefix)  # type: ignore[attr-defined]
    return [o["Key"] for o in listed.get("Contents", [])]


@pytest.fixture
def moto() -> object:
    module = pytest.importorskip("moto")
    with module.mock_aws():
        yield module


def test_each_s3_append_uploads_only_its_own_events(moto: object) -> None:
    client = s3_client()
    log = S3EventLog("s3://studies/team/digits", client=client)
    sizes = [log.append(one_trial(i, 0.1)) for i in range(30)]  # type: ignore[arg-type]
    assert max(sizes) < 2 * min(sizes), "an append must not grow with the log"
    assert len(keys(client, "team/digits/events/")) == 30


def test_s3_segments_are_gathered_into_chunks_and_read_back_whole(
    moto: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(s3_log, "CHUNK_SEGMENTS", 5)
    client = s3_client()
    writer = S3EventLog("s3://studies/p", client=client)
    early_reader = Store(S3EventLog("s3://studies/p", client=client))
    writer.append([study()])
    for i in range(3):
        writer.append(one_trial(i, 0.1))  # type: ignore[arg-type]
    assert sorted(early_reader.load().trials) == [0, 1, 2]
    for i in range(3, 20):
        writer.append(one_trial(i, 0.1))  # type: ignore[arg-type]
    assert len(keys(client, "p/chunks/")) == 4
    assert len(keys(client, "p/events/")) < 5
    assert sorted(Store(S3EventLog("s3://studies/p", client=client)).load().trials) == list(
        range(20)
    )
    assert sorted(early_reader.load().trials) == list(range(20))


def test_a_second_process_running_the_same_s3_study_is_refused(moto: object) -> None:
    client = s3_client()
    first = S3EventLog("s3://studies/p", client=client)
    second = S3EventLog("s3://studies/p", client=client)
    first.append([study()])
    second.read()
    first.append([TrialsAsked((spec(0),), asked=1)])
    with pytest.raises(ConcurrentWriterError, match="another process is running this study"):
        second.append([TrialsAsked((spec(1),), asked=1)])


def test_an_s3_log_written_whole_by_an_older_byohpo_is_read(moto: object) -> None:
    client = s3_client()
    client.put_object(  # type: ignore[attr-defined]
        Bucket="studies",
        Key="p/events.jsonl",
        Body=b'{"event":"study","name":"old"}\n{"event":"finished","reason":"done"}\n',
    )
    log = Store(S3EventLog("s3://studies/p", client=client)).load()
    assert log.name == "old" and log.finished is not None
