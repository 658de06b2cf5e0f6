"""Events of a small study, built as the loop builds them."""

from __future__ import annotations

from byohpo.study._events import (
    JobSubmitted,
    ResultRecorded,
    StrategyCheckpoint,
    StudyDefined,
    TrialsAsked,
    TrialSpec,
    TrialsTold,
)


def spec(tid: int, **extra: object) -> TrialSpec:
    return TrialSpec(
        trial_id=tid,
        config={"x": tid / 10, "kind": "a"},
        hyperparameters={"x": str(tid / 10), "kind": "a"},
        job_name=f"s-abcd1234-t{tid:05d}",
        **extra,  # type: ignore[arg-type]
    )


def study(name: str = "s") -> StudyDefined:
    return StudyDefined({"format": 2, "name": name, "study_id": "abcd1234"}, time=1.0)


def one_trial(tid: int, accuracy: float) -> list[object]:
    return [
        TrialsAsked((spec(tid),), asked=1, time=2.0),
        JobSubmitted(tid, f"s-abcd1234-t{tid:05d}", time=3.0),
        ResultRecorded(tid, "Completed", {"acc": accuracy}, time=4.0),
        TrialsTold((tid,), time=5.0),
    ]


def checkpoint(state: int) -> StrategyCheckpoint:
    return StrategyCheckpoint({"state": state}, time=6.0)
