"""One contract, three stores (local directory, S3 on moto, memory): what a study relies on."""

from __future__ import annotations

import threading
from dataclasses import asdict

from byohpo.study._events import ResultRecorded, TrialsTold, encode
from byohpo.study._state import replay
from byohpo.study._store import Store

from .conftest import Opener
from .events_for_tests import checkpoint, one_trial, study


def test_appended_events_read_back_in_order_from_another_handle(opener: Opener) -> None:
    writer = Store(opener())
    assert not writer.exists()
    writer.record(study(), *one_trial(0, 0.5))
    writer.record(*one_trial(1, 0.7))
    reader = Store(opener())
    assert reader.exists()
    log = reader.load()
    assert log.name == "s" and log.study_id == "abcd1234"
    assert [t.metrics["acc"] for t in log.trials.values()] == [0.5, 0.7]
    assert log.result_order == [0, 1] and all(t.told for t in log.trials.values())
    assert log.damage == []


def test_a_reader_sees_what_was_appended_since_it_last_read(opener: Opener) -> None:
    writer, reader = Store(opener()), Store(opener())
    writer.record(study(), *one_trial(0, 0.5))
    assert list(reader.load().trials) == [0]
    writer.record(*one_trial(1, 0.7))
    assert list(reader.load().trials) == [0, 1]


def test_the_replayed_state_is_the_state_built_while_writing(opener: Opener) -> None:
    from byohpo.study._state import StudyLog, apply

    live = StudyLog()
    store = Store(opener())
    events = [study(), *one_trial(0, 0.5), checkpoint(1), *one_trial(1, 0.2)]
    for event in events:
        store.record(event)  # type: ignore[arg-type]
        apply(live, event)  # type: ignore[arg-type]
    replayed = Store(opener()).load()
    assert asdict(replayed) | {"events": []} == asdict(live) | {"events": []}
    assert replayed.snapshot == {"state": 1} and len(replayed.since_snapshot) == 2


def test_two_writers_at_once_lose_nothing(opener: Opener) -> None:
    Store(opener()).record(study())
    first, second = Store(opener()), Store(opener())

    def write(store: Store, offset: int) -> None:
        for i in range(25):
            tid = offset + i
            store.record(ResultRecorded(tid, "Completed", {"acc": float(tid)}))

    threads = [
        threading.Thread(target=write, args=(first, 0)),
        threading.Thread(target=write, args=(second, 100)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = [e for e in Store(opener()) if e["event"] == "result"]
    assert sorted(e["trial_id"] for e in events) == [*range(25), *range(100, 125)]


def test_only_the_latest_checkpoint_is_restored(opener: Opener) -> None:
    store = Store(opener())
    store.record(study(), checkpoint(1), *one_trial(0, 0.5), checkpoint(2), *one_trial(1, 0.1))
    log = Store(opener()).load()
    assert log.snapshot == {"state": 2}
    assert [type(step).__name__ for step in log.since_snapshot] == ["Asked", "Told"]


def test_events_keep_their_types_through_the_store(opener: Opener) -> None:
    store = Store(opener())
    events = [study(), *one_trial(0, 0.5)]
    store.record(*events)  # type: ignore[arg-type]
    assert list(Store(opener())) == [encode(e) for e in events]  # type: ignore[arg-type]
    assert replay(Store(opener())).trials[0].told
    assert isinstance(events[-1], TrialsTold)


def test_a_loaded_log_gives_back_every_event_and_the_curves_and_stops(opener: Opener) -> None:
    from byohpo.study._events import CurveRead, EarlyStopped

    curve = CurveRead(0, "acc", ((1, 60.0, 0.3), (2, 120.0, 0.4)), time=3.5)
    stop = EarlyStopped(0, "s-abcd1234-t00000", "median", "acc", 2, 0.4, 120.0, "below", time=3.6)
    events = [study(), *one_trial(0, 0.5)[:2], curve, stop, *one_trial(0, 0.5)[2:]]
    Store(opener()).record(*events)  # type: ignore[arg-type]
    unknown = {"event": "from_a_newer_byohpo", "time": 7.0}
    log = Store(opener()).load()
    written = [encode(e) for e in events]  # type: ignore[arg-type]
    assert list(log.events) == written and len(log.events) == len(written)
    assert log.events[-1] == written[-1] and log.events[1:3] == written[1:3]
    assert log.stopping_events() == [encode(curve), encode(stop)]
    assert replay([*written, unknown]).events[-1] == unknown  # kept, as read
