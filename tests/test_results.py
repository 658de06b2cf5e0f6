"""StudyResult: the results table, the best trials, generations and summaries.

Studies are built as event lists (the helpers below are shared with the plot
and report tests), replayed, and read back as a user would.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import pytest

import byohpo
from byohpo.errors import ByohpoError, StoreError
from byohpo.results import NoCompletedTrialError, StudyResult, pareto_mask
from byohpo.space import Categorical, Continuous, Integer, SearchSpace, Static
from byohpo.study._store import Store

METRIC = "validation:accuracy"
SPACE = SearchSpace(
    {
        "learning_rate": Continuous(1e-4, 1e-1, scaling="log"),
        "num_epoch": Integer(10, 50),
        "optimizer": Categorical(["sgd", "adam"]),
        "batch_size": Static(100),
    }
)


def study_event(
    objectives: Mapping[str, str] | None = None,
    metric_names: Sequence[str] = (METRIC, "train:loss"),
    space: SearchSpace = SPACE,
    **fields: Any,
) -> dict[str, Any]:
    """The ``study`` event a tuner writes first."""
    objectives = objectives or {METRIC: "maximize"}
    return {
        "event": "study",
        "name": "digits-ga",
        "objectives": [{"metric": m, "direction": d} for m, d in objectives.items()],
        "space": space.to_json(),
        "parameter_names": list(space),
        "metric_names": list(metric_names),
        "strategy": "ga",
        "mode": "generational",
        "max_jobs": 10,
        "max_parallel_jobs": 2,
        "region": "us-east-1",
        "prices": None,
        "instance_type": "ml.m5.xlarge",
        "instance_count": 1,
        **fields,
    }


def config(lr: float = 0.01, epochs: int = 20, optimizer: str = "sgd") -> dict[str, Any]:
    return {"learning_rate": lr, "num_epoch": epochs, "optimizer": optimizer, "batch_size": 100}


def planned(tid: int, cfg: Mapping[str, Any], generation: int = 0, **fields: Any) -> dict[str, Any]:
    """The ``asked`` event proposing one trial."""
    spec = {
        "trial_id": tid,
        "config": dict(cfg),
        "hyperparameters": {k: str(v) for k, v in cfg.items()},
        "generation": generation,
        "job_name": None if fields.get("duplicate_of") is not None else f"digits-ga-{tid}",
        **fields,
    }
    return {"event": "asked", "trials": [spec], "snapshot": None}


def ended(
    tid: int,
    status: str = "Completed",
    metrics: Mapping[str, float] | None = None,
    *,
    failure_reason: str | None = None,
    billable_seconds: float | None = 600,
    minute: int = 0,
) -> dict[str, Any]:
    return {
        "event": "result",
        "trial_id": tid,
        "status": status,
        "metrics": dict(metrics or {}),
        "failure_reason": failure_reason,
        "start_time": f"2024-05-01T10:{minute:02d}:00Z",
        "end_time": f"2024-05-01T10:{minute + 10:02d}:00+00:00",
        "billable_seconds": billable_seconds,
    }


def job(
    tid: int,
    accuracy: float | None,
    cfg: Mapping[str, Any] | None = None,
    generation: int = 0,
    status: str | None = None,
    failure_reason: str | None = None,
    **fields: Any,
) -> list[dict[str, Any]]:
    """A trial that ran a job to its end: planned, submitted, result."""
    metrics = {} if accuracy is None else {METRIC: accuracy, "train:loss": 1 - accuracy}
    status = status or ("Completed" if accuracy is not None else "Failed")
    return [
        planned(tid, cfg or config(epochs=10 + tid), generation, **fields),
        {"event": "submitted", "trial_id": tid},
        ended(tid, status, metrics, failure_reason=failure_reason, minute=tid),
    ]


def digits_study() -> list[dict[str, Any]]:
    """Two generations: a failure, a best trial (3), a duplicate, a retry, one still running."""
    events = [study_event()]
    events += job(0, 0.80, config(0.001, 10, "sgd"))
    events += job(1, None, config(0.05, 20, "adam"), failure_reason="AlgorithmError: out of memory")
    events += job(2, 0.85, config(0.01, 30, "adam"))
    events += job(3, 0.91, config(0.02, 40, "sgd"), generation=1, parent_id=2)
    events += [
        planned(4, config(0.02, 40, "sgd"), 1, duplicate_of=3),
        {
            "event": "duplicate",
            "trial_id": 4,
            "status": "Completed",
            "metrics": {METRIC: 0.91, "train:loss": 0.09},
            "billable_seconds": 0,
        },
    ]
    events += job(5, 0.70, config(0.0001, 50, "sgd"), generation=1, retry_of=1)
    events += [
        planned(6, config(0.003, 12, "adam"), 1),
        {"event": "submitted", "trial_id": 6},
        {
            "event": "status",
            "trial_id": 6,
            "status": "InProgress",
            "start_time": "2024-05-01T10:30:00Z",
        },
        {"event": "finished", "reason": "max_jobs reached (6 jobs)"},
    ]
    return events


def two_objective_study() -> list[dict[str, Any]]:
    objectives = {METRIC: "maximize", "train:seconds": "minimize"}
    events = [study_event(objectives, metric_names=[METRIC, "train:seconds"])]
    points = [(0.80, 100.0), (0.90, 300.0), (0.85, 200.0), (0.70, 250.0), (0.95, 500.0)]
    for tid, (acc, seconds) in enumerate(points):
        events += [
            planned(tid, config(epochs=10 + tid)),
            ended(tid, "Completed", {METRIC: acc, "train:seconds": seconds}, minute=tid),
        ]
    events += job(5, None, config(epochs=40), failure_reason="ClientError: bad input")
    return events


@pytest.fixture
def result() -> StudyResult:
    return StudyResult.from_events(digits_study())


# -- the table -----------------------------------------------------------------------------


def test_table_has_the_documented_columns_in_a_stable_order(result: StudyResult) -> None:
    assert list(result.table().columns) == [
        "trial_id",
        "job_name",
        "generation",
        "parent_id",
        "status",
        "objective",
        "learning_rate",
        "num_epoch",
        "optimizer",
        "batch_size",
        METRIC,
        "train:loss",
        "failure_reason",
        "start_time",
        "end_time",
        "billable_seconds",
        "cost",
        "duplicate_of",
        "retry_of",
        "stopped_by",
        "stopped_at",
        "stopping_reason",
    ]


def test_table_columns_keep_their_types(result: StudyResult) -> None:
    table = result.table()
    assert list(table["trial_id"]) == list(range(7))
    assert table["trial_id"].dtype == "int64"
    assert table["generation"].dtype == "int64"
    assert table["parent_id"].dtype == "Int64"
    assert table["duplicate_of"].dtype == "Int64"
    assert table["learning_rate"].dtype == "float64"
    assert table["num_epoch"].dtype == "int64"
    assert table["batch_size"].dtype == "int64"
    assert pd.api.types.is_string_dtype(table["optimizer"])
    assert table[METRIC].dtype == "float64"
    assert str(table["start_time"].dtype) == "datetime64[ns, UTC]"
    assert table.loc[0, "start_time"] == pd.Timestamp("2024-05-01T10:00:00Z")
    assert table.loc[0, "end_time"] == pd.Timestamp("2024-05-01T10:10:00Z")
    assert table.loc[3, "parent_id"] == 2
    assert table["parent_id"].isna().sum() == 6


def test_objective_is_what_the_strategy_saw(result: StudyResult) -> None:
    table = result.table().set_index("trial_id")
    assert table.loc[0, "objective"] == 0.80
    assert math.isnan(table.loc[1, "objective"])  # failed
    assert table.loc[1, "failure_reason"] == "AlgorithmError: out of memory"
    assert table.loc[4, "objective"] == 0.91  # a duplicate gets its source's value
    assert math.isnan(table.loc[6, "objective"])  # still running
    assert table.loc[6, "status"] == "InProgress"
    assert pd.isna(table.loc[6, "end_time"])


def test_a_completed_job_without_the_metric_has_no_objective() -> None:
    events = [study_event()]
    events += [
        planned(0, config()),
        ended(0, "Completed", {"train:loss": 0.3}, failure_reason="never printed the objective"),
    ]
    table = StudyResult.from_events(events).table()
    assert math.isnan(table.loc[0, "objective"])
    assert table.loc[0, "train:loss"] == 0.3


def test_cost_uses_billable_time_and_prices() -> None:
    events = [study_event(region="eu-west-1", prices={"ml.custom": 2.0})]
    events += [planned(0, config()), ended(0, "Completed", {METRIC: 0.5}, billable_seconds=3600)]
    events += [
        planned(1, config(epochs=11), instance_type="ml.custom", instance_count=2),
        ended(1, "Completed", {METRIC: 0.6}, billable_seconds=1800),
    ]
    events += [
        planned(2, config(epochs=12), instance_type="ml.unknown"),
        ended(2, "Failed", failure_reason="x", billable_seconds=60),
    ]
    result = StudyResult.from_events(events)
    cost = result.table()["cost"]
    assert cost[0] == pytest.approx(0.23 * 1.1)  # ml.m5.xlarge, eu-west-1 multiplier
    assert cost[1] == pytest.approx(2.0)  # half an hour on two $2/h instances
    assert math.isnan(cost[2])  # no price known
    assert result.total_cost == pytest.approx(0.23 * 1.1 + 2.0)
    assert result.summary()["trials_without_cost"] == 1
    assert "(without 1 trial still running or of unknown price)" in repr(result)


def test_duplicates_cost_nothing_and_launch_no_job(result: StudyResult) -> None:
    table = result.table().set_index("trial_id")
    assert table.loc[4, "cost"] == 0.0
    assert table.loc[4, "billable_seconds"] == 0.0
    assert table.loc[4, "duplicate_of"] == 3
    assert pd.isna(table.loc[4, "job_name"])
    assert table.loc[5, "retry_of"] == 1
    assert math.isnan(table.loc[6, "cost"])  # running: not billed yet
    assert result.jobs_launched == 6
    assert result.total_cost == pytest.approx(5 * 600 / 3600 * 0.23)


def test_a_duplicate_without_its_own_result_takes_its_sources() -> None:
    events = [study_event(), *job(0, 0.7, config()), planned(1, config(), duplicate_of=0)]
    table = StudyResult.from_events(events).table()
    assert table.loc[1, "status"] == "Completed"
    assert table.loc[1, "objective"] == 0.7


def test_table_is_a_copy(result: StudyResult) -> None:
    table = result.table()
    table.loc[0, "objective"] = -1.0
    assert result.table().loc[0, "objective"] == 0.80


def test_names_taken_by_other_columns_are_qualified() -> None:
    space = SearchSpace({"status": Integer(1, 5), "cost": Continuous(0.0, 1.0)})
    events = [study_event(metric_names=[METRIC, "cost"], space=space)]
    events += [
        planned(0, {"status": 2, "cost": 0.5}),
        ended(0, "Completed", {METRIC: 0.5, "cost": 9.0}),
    ]
    result = StudyResult.from_events(events)
    table = result.table()
    assert result.parameter_columns == {"status": "param[status]", "cost": "param[cost]"}
    assert table.loc[0, "param[status]"] == 2
    assert table.loc[0, "metric[cost]"] == 9.0
    assert table.loc[0, "status"] == "Completed"


def test_an_empty_study_has_an_empty_table_with_every_column() -> None:
    result = StudyResult.from_events([study_event()])
    table = result.table()
    assert len(table) == 0
    assert "objective" in table.columns and "learning_rate" in table.columns
    assert result.generations().empty
    assert result.total_cost == 0.0
    with pytest.raises(NoCompletedTrialError, match="no trial was planned yet"):
        result.best()


# -- the best trials ------------------------------------------------------------------------


def test_best_is_the_best_completed_trial(result: StudyResult) -> None:
    best = result.best()
    assert isinstance(best, pd.Series)
    assert best["trial_id"] == 3  # trial 4 ties as a duplicate of it
    assert best["objective"] == 0.91
    assert best["job_name"] == "digits-ga-3"


def test_best_respects_a_minimized_objective() -> None:
    events = [study_event({"train:loss": "minimize"})]
    events += job(0, 0.8) + job(1, 0.9) + job(2, 0.6)
    best = StudyResult.from_events(events).best()
    assert isinstance(best, pd.Series)
    assert best["trial_id"] == 1  # loss 0.1
    assert best["objective"] == pytest.approx(0.1)


def test_ties_go_to_the_earliest_trial() -> None:
    events = [study_event(), *job(0, 0.5), *job(1, 0.9), *job(2, 0.9)]
    best = StudyResult.from_events(events).best()
    assert isinstance(best, pd.Series)
    assert best["trial_id"] == 1


def test_best_config_keeps_python_types(result: StudyResult) -> None:
    best = result.best_config()
    assert best == {"learning_rate": 0.02, "num_epoch": 40, "optimizer": "sgd", "batch_size": 100}
    assert type(best["num_epoch"]) is int


def test_no_completed_trial_says_why() -> None:
    events = [study_event()]
    events += job(0, None, failure_reason="ClientError: image not found")
    events += job(1, None, failure_reason="ClientError: image not found")
    events += job(2, None, failure_reason="AlgorithmError: boom")
    result = StudyResult.from_events(events)
    with pytest.raises(NoCompletedTrialError) as caught:
        result.best()
    message = str(caught.value)
    assert "no trial of study 'digits-ga' completed" in message
    assert "3 Failed" in message
    assert "(2 of 3): ClientError: image not found" in message
    with pytest.raises(NoCompletedTrialError):
        result.best_config()
    assert "no trial completed" in repr(result)


def test_pareto_front_of_two_objectives() -> None:
    result = StudyResult.from_events(two_objective_study())
    table = result.table()
    assert "objective[validation:accuracy]" in table.columns
    assert "objective[train:seconds]" in table.columns
    assert "objective" not in table.columns
    front = result.pareto_front()
    # (0.70, 250) is beaten by (0.85, 200); the failed trial is not a candidate.
    assert list(front["trial_id"]) == [0, 1, 2, 4]
    best = result.best()
    assert isinstance(best, pd.DataFrame)
    assert list(best["trial_id"]) == [0, 1, 2, 4]
    with pytest.raises(ByohpoError, match=r"pareto_front\(\)"):
        result.best_config()


def test_pareto_mask_keeps_equal_points_and_drops_dominated_ones() -> None:
    import numpy as np

    scores = np.array([[1.0, 1.0], [1.0, 1.0], [0.5, 1.0], [2.0, 0.0]])
    assert pareto_mask(scores).tolist() == [True, True, False, True]


# -- generations and summaries -----------------------------------------------------------------


def test_generations_summarize_each_generation(result: StudyResult) -> None:
    gens = result.generations()
    assert list(gens.columns) == [
        "generation",
        "trials",
        "jobs",
        "completed",
        "failed",
        "best",
        "median",
        "best_so_far",
        "cost",
    ]
    first, second = gens.iloc[0], gens.iloc[1]
    assert (first["trials"], first["jobs"], first["completed"], first["failed"]) == (3, 3, 2, 1)
    assert first["best"] == 0.85
    assert first["median"] == pytest.approx(0.825)
    assert (second["trials"], second["jobs"], second["completed"]) == (4, 3, 3)
    assert second["best"] == 0.91
    assert second["best_so_far"] == 0.91
    assert first["cost"] == pytest.approx(3 * 600 / 3600 * 0.23)


def test_best_so_far_follows_the_direction() -> None:
    events = [study_event({"train:loss": "minimize"})]
    events += job(0, 0.9, generation=0)  # loss 0.1
    events += job(1, 0.5, generation=1)  # loss 0.5
    gens = StudyResult.from_events(events).generations()
    assert list(gens["best"]) == pytest.approx([0.1, 0.5])
    assert list(gens["best_so_far"]) == pytest.approx([0.1, 0.1])


def test_generations_with_several_objectives_name_each() -> None:
    gens = StudyResult.from_events(two_objective_study()).generations()
    assert "best[train:seconds]" in gens.columns
    assert gens.loc[0, "best[train:seconds]"] == 100.0
    assert gens.loc[0, "best[validation:accuracy]"] == 0.95


def test_counts_and_stop_reason(result: StudyResult) -> None:
    assert result.name == "digits-ga"
    assert result.status_counts == {"Completed": 5, "Failed": 1, "InProgress": 1}
    assert list(result.status_counts) == ["Completed", "Failed", "InProgress"]
    assert result.trials == 7
    assert result.is_finished
    assert result.stop_reason == "max_jobs reached (6 jobs)"
    summary = result.summary()
    assert summary["best"]["trial_id"] == 3
    assert summary["best"]["config"]["num_epoch"] == 40
    json.dumps(summary)  # ready for JSON


def test_a_running_study_has_no_stop_reason() -> None:
    result = StudyResult.from_events([study_event(), *job(0, 0.5)])
    assert result.stop_reason is None
    assert not result.is_finished
    assert "not finished" in repr(result)


def test_repr_is_a_short_readable_summary(result: StudyResult) -> None:
    text = repr(result)
    assert text.startswith("StudyResult 'digits-ga' (ga, generational), finished: max_jobs")
    assert "best: 0.91 at trial 3 (job digits-ga-3)" in text
    assert "jobs launched: 6" in text
    html = result._repr_html_()
    assert html.startswith("<div>") and "digits-ga" in html


def test_load_reads_a_store(tmp_path: Any) -> None:
    store = Store(tmp_path / "study")
    store.record(*digits_study())
    result = byohpo.StudyResult.load(tmp_path / "study")
    expected = StudyResult.from_events(digits_study()).table()
    pd.testing.assert_frame_equal(result.table(), expected)


def test_hyperparameters_keep_the_order_they_were_defined_in(tmp_path: Any) -> None:
    store = Store(tmp_path / "study")
    store.record(*digits_study())  # the log writes JSON objects with sorted keys
    names = list(StudyResult.load(tmp_path / "study").table().columns[6:10])
    assert names == ["learning_rate", "num_epoch", "optimizer", "batch_size"]


def test_load_of_a_missing_study_is_a_clear_error(tmp_path: Any) -> None:
    with pytest.raises(StoreError, match="no study at"):
        StudyResult.load(tmp_path / "nothing-here")


def test_csv_and_json_exports(result: StudyResult, tmp_path: Any) -> None:
    result.to_csv(tmp_path / "trials.csv")
    back = pd.read_csv(tmp_path / "trials.csv")
    assert list(back["job_name"].fillna("")) == [
        "digits-ga-0",
        "digits-ga-1",
        "digits-ga-2",
        "digits-ga-3",
        "",
        "digits-ga-5",
        "digits-ga-6",
    ]
    records = json.loads(result.to_json())
    assert records[3]["objective"] == 0.91
    assert records[0]["start_time"].startswith("2024-05-01T10:00:00")


def test_a_hyperparameter_missing_from_some_trials_stays_integer() -> None:
    events = [study_event(), *job(0, 0.5, config(epochs=12))]
    events += job(1, 0.6, {"learning_rate": 0.01, "optimizer": "adam", "batch_size": 100})
    table = StudyResult.from_events(events).table()
    assert table["num_epoch"].dtype == "Int64"
    assert table["num_epoch"].tolist()[0] == 12
    assert pd.isna(table.loc[1, "num_epoch"])
