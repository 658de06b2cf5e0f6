"""Property: any sequence of events gives the same state live and replayed from the log.

The loop writes each event and then applies it to its state; a resume (or ``byohpo
results``) reads the log back and applies the same events with the same function.
Random sequences (trials asked, adopted, submitted, polled, finished, answered as
duplicates, told; checkpoints; events about trials the log never planned) go through
both paths, via a real log file, and must end in equal states.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from tempfile import TemporaryDirectory

from hypothesis import given, settings
from hypothesis import strategies as st

from byohpo.study._events import (
    CheckpointCopied,
    DuplicateAnswered,
    Event,
    JobSubmitted,
    LaunchLimited,
    ResultRecorded,
    StatusSeen,
    StrategyCheckpoint,
    StudyFinished,
    StudyInterrupted,
    TrialAdopted,
    TrialsAsked,
    TrialSpec,
    TrialsTold,
)
from byohpo.study._state import StudyLog, apply
from byohpo.study._store import LocalEventLog, Store

from .events_for_tests import study

SCRATCH = "/dev/shm" if Path("/dev/shm").is_dir() else None  # fsync'd appends, in memory
KINDS = (
    "ask",
    "adopt",
    "submit",
    "status",
    "result",
    "duplicate",
    "told",
    "checkpoint",
    "copy",
    "limit",
    "finished",
    "interrupted",
)
STATUSES = ("InProgress", "Completed", "Failed", "Stopped", "Stopping")
numbers = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


def new_spec(data: st.DataObject, tid: int) -> TrialSpec:
    x = data.draw(numbers)
    return TrialSpec(
        trial_id=tid,
        config={"x": x, "kind": data.draw(st.sampled_from(["a", "b"]))},
        hyperparameters={"x": repr(x)},
        generation=data.draw(st.integers(0, 5)),
        job_name=data.draw(st.none() | st.just(f"s-id-t{tid:05d}")),
        parent_id=data.draw(st.none() | st.integers(0, max(0, tid - 1))),
        duplicate_of=data.draw(st.none() | st.integers(0, max(0, tid - 1))),
    )


def draw_event(data: st.DataObject, planned: int) -> tuple[Event, int]:
    """One event; trial ids sometimes point past what was planned (ignored by both paths)."""
    kind = data.draw(st.sampled_from(KINDS))
    tid = data.draw(st.integers(0, planned + 1))
    time = data.draw(st.none() | numbers)
    if kind == "ask":
        count = data.draw(st.integers(1, 3))
        specs = tuple(new_spec(data, planned + i) for i in range(count))
        asked = data.draw(st.none() | st.integers(count, count + 2))
        return TrialsAsked(specs, asked=asked, time=time), planned + count
    if kind == "adopt":
        adopted = TrialAdopted(new_spec(data, planned), "sagemaker tuning job t", time=time)
        return adopted, planned + 1
    if kind == "submit":
        return JobSubmitted(tid, data.draw(st.none() | st.just(f"j{tid}")), time=time), planned
    if kind == "status":
        return StatusSeen(tid, data.draw(st.sampled_from(STATUSES)), "Training", None), planned
    if kind in ("result", "duplicate"):
        cls = ResultRecorded if kind == "result" else DuplicateAnswered
        metrics = data.draw(st.dictionaries(st.sampled_from(["acc", "loss"]), numbers))
        return cls(
            tid,
            data.draw(st.sampled_from(STATUSES)),
            metrics,
            data.draw(st.none() | st.text(max_size=20)),
            None,
            data.draw(st.none() | st.just("2026-12-06T10:00:00+00:00")),
            data.draw(st.none() | st.floats(0, 1e5)),
            time=time,
        ), planned
    if kind == "told":
        ids = data.draw(st.lists(st.integers(0, planned + 1), max_size=4))
        return TrialsTold(tuple(ids), time=time), planned
    if kind == "checkpoint":
        return StrategyCheckpoint({"state": data.draw(st.integers())}, time=time), planned
    if kind == "copy":
        return CheckpointCopied(tid, None, "src", "s3://a/b", "s3://a/c", 3, time=time), planned
    if kind == "limit":
        return LaunchLimited(data.draw(st.integers(1, 9)), "no capacity", time=time), planned
    if kind == "finished":
        return StudyFinished(data.draw(st.text(max_size=30)), time=time), planned
    return StudyInterrupted("Ctrl-C", "kept", 1, ("j0",), time=time), planned


def comparable(state: StudyLog) -> dict[str, object]:
    return json.loads(json.dumps(asdict(state) | {"events": []}, default=repr))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_live_and_replayed_states_agree_for_any_events(data: st.DataObject) -> None:
    live = StudyLog()
    events: list[Event] = [study()]
    planned = 0
    for _ in range(data.draw(st.integers(0, 40))):
        event, planned = draw_event(data, planned)
        events.append(event)
    with TemporaryDirectory(dir=SCRATCH) as directory:
        store = Store(LocalEventLog(Path(directory)))
        for event in events:
            store.record(event)  # written, then applied: as the loop does
            apply(live, event)
        replayed = Store(LocalEventLog(Path(directory))).load()
    assert comparable(replayed) == comparable(live)
