"""SageMaker's own tuner as a strategy: one tuning job, its jobs recorded as trials."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import byohpo
from byohpo.errors import StrategyError
from byohpo.study._store import Store
from tests.sdk.conftest import instant_fake, quadratic


def _tuner(job: byohpo.TrainingJob, space: Any, backend: Any, **options: Any) -> byohpo.Tuner:
    options = {"objective": "validation:accuracy", "progress": False, **options}
    return byohpo.Tuner(job, space, backend=backend, **options)


@pytest.mark.usefixtures("studies")
def test_sagemakers_tuner_runs_as_one_tuning_job_whose_jobs_are_trials(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace
) -> None:
    fake = instant_fake()
    tuner = _tuner(
        job, space, fake, strategy="sagemaker:bayesian", max_jobs=6, max_parallel_jobs=2,
        study_name="sm-bayes", seed=3,
    )  # fmt: skip
    result = tuner.run()
    table = result.table()
    assert len(table) == 6
    assert set(table["status"]) == {"Completed"}
    # each trial is the job SageMaker launched, with the value its hyperparameters earned
    for _, row in table.iterrows():
        assert row["objective"] == pytest.approx(quadratic(row)["validation:accuracy"])
        assert row["job_name"].startswith("sm-bayes-")
        assert row["cost"] >= 0.0
    assert fake.aws.api_calls["CreateHyperParameterTuningJob"] == 1
    assert fake.aws.api_calls["CreateTrainingJob"] == 0  # SageMaker launched them, not byohpo
    events = [e["event"] for e in Store(tuner.store.location)]
    assert events.index("tuning_job") < events.index("adopted")  # recorded before it is created
    assert result.best_config()["x"] == pytest.approx(table.loc[table["objective"].idxmax(), "x"])


@pytest.mark.usefixtures("studies")
def test_grid_search_walks_every_categorical_combination(job: byohpo.TrainingJob) -> None:
    space = byohpo.SearchSpace(
        {
            "x": byohpo.Categorical([0.1, 0.3, 0.5]),
            "y": byohpo.Categorical([3, 7]),
            "kind": byohpo.Categorical(["a", "b"]),
        }
    )
    result = _tuner(
        job, space, instant_fake(), strategy="sagemaker:grid", max_jobs=12,
        max_parallel_jobs=4, study_name="sm-grid",
    ).run()  # fmt: skip
    seen = {(r.x, r.y, r.kind) for r in result.table().itertuples()}
    assert len(seen) == 12
    assert result.best_config() == {"x": 0.3, "y": 7, "kind": "b"}


@pytest.mark.parametrize(
    ("change", "match"),
    [
        (lambda s: {f"p{i}": byohpo.Continuous(0, 1) for i in range(31)}, "at most 30"),
        (lambda s: {"c": byohpo.Categorical(list(range(31)))}, "at most 30 values"),
        (lambda s: s, "at most 100 jobs at once"),
    ],
)
def test_sagemakers_limits_are_checked_before_anything_is_created(
    job: byohpo.TrainingJob,
    space: byohpo.SearchSpace,
    change: Callable[[Any], Any],
    match: str,
) -> None:
    fake = instant_fake()
    parallel = 101 if match.startswith("at most 100") else 2
    with pytest.raises(StrategyError, match=match):
        _tuner(
            job, change(space), fake, strategy="sagemaker:random", max_jobs=200,
            max_parallel_jobs=parallel, study_name="sm-limits",
        )  # fmt: skip
    assert not fake.active  # nothing started, nothing created


def test_grid_needs_categorical_values_and_enough_jobs(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace
) -> None:
    with pytest.raises(StrategyError, match="categorical hyperparameters only"):
        _tuner(job, space, instant_fake(), strategy="sagemaker:grid")
    grid = {"kind": byohpo.Categorical(["a", "b", "c"]), "y": byohpo.Categorical([1, 2])}
    with pytest.raises(StrategyError, match="Raise max_jobs to 6"):
        _tuner(job, grid, instant_fake(), strategy="sagemaker:grid", max_jobs=4)
    with pytest.raises(StrategyError, match="one of 'bayesian'"):
        _tuner(job, space, instant_fake(), strategy="sagemaker:annealing")


class _InterruptOnce:
    """A wall clock whose first sleep is a Ctrl-C (the study is interrupted mid-run)."""

    def __init__(self) -> None:
        import time

        self._time = time
        self.interrupted = False

    def now(self) -> float:
        return self._time.time()

    def sleep(self, seconds: float) -> None:
        if not self.interrupted:
            self.interrupted = True
            raise KeyboardInterrupt
        self._time.sleep(seconds)


@pytest.mark.usefixtures("studies")
def test_an_interrupted_study_re_attaches_to_its_tuning_job(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace
) -> None:
    with instant_fake(instant_training_seconds=0.2) as fake:
        tuner = _tuner(
            job, space, fake, strategy="sagemaker:random", max_jobs=4, max_parallel_jobs=2,
            study_name="sm-resume", on_interrupt="keep", clock=_InterruptOnce(),
        )  # fmt: skip
        tuner.run()
        assert tuner.stop_reason == "interrupted"
        result = byohpo.Tuner.resume("sm-resume", backend=fake, progress=False)
        assert fake.aws.api_calls["CreateHyperParameterTuningJob"] == 1
    table = result.table()
    assert len(table) == 4
    assert table["job_name"].is_unique
    assert set(table["status"]) == {"Completed"}


@pytest.mark.usefixtures("studies")
def test_stopping_the_study_stops_the_tuning_job(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace
) -> None:
    with instant_fake(instant_training_seconds=30.0) as fake:
        tuner = _tuner(
            job, space, fake, strategy="sagemaker:random", max_jobs=8, max_parallel_jobs=2,
            study_name="sm-stop", on_interrupt="stop", clock=_InterruptOnce(),
        )  # fmt: skip
        result = tuner.run()
        assert fake.aws.api_calls["StopHyperParameterTuningJob"] == 1
        states = {j.status.value for j in fake.aws.jobs()}
    assert states <= {"Stopping", "Stopped"}
    assert len(result.table()) <= 2


@pytest.mark.usefixtures("studies")
def test_byohpo_stop_stops_the_tuning_job_a_study_left_running(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace
) -> None:
    from byohpo.study._sagemaker_tuning import stop_recorded_tuning_job

    with instant_fake(instant_training_seconds=60.0) as fake:
        tuner = _tuner(
            job, space, fake, strategy="sagemaker:random", max_jobs=8, max_parallel_jobs=2,
            study_name="sm-left", on_interrupt="keep", clock=_InterruptOnce(),
        )  # fmt: skip
        tuner.run()  # interrupted: the tuning job goes on without the study
        log = Store(tuner.store.location).load()
        fake.open("sm-left", job)
        assert stop_recorded_tuning_job(fake, log) == "sm-left"
        assert stop_recorded_tuning_job(fake, log) is None  # already stopping
        result = byohpo.Tuner.resume("sm-left", backend=fake, progress=False)
    assert result.stop_reason == "stopped: the tuning job was stopped"
    assert set(result.table()["status"]) == {"Stopped"}


def test_hyperbands_resources_are_its_options_checked_before_anything_is_created(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace
) -> None:
    options = {"min_resource": 1, "max_resource": 27}
    tuner = _tuner(
        job, space, instant_fake(), strategy="sagemaker:hyperband", strategy_options=options
    )
    assert tuner.definition()["strategy_options"] == {"algorithm": "hyperband", **options}
    with pytest.raises(StrategyError, match="min_resource <= max_resource"):
        _tuner(
            job, space, instant_fake(), strategy="sagemaker:hyperband",
            strategy_options={"min_resource": 9, "max_resource": 3},
        )  # fmt: skip
    with pytest.raises(StrategyError, match="options of SageMaker's Hyperband only"):
        _tuner(
            job, space, instant_fake(), strategy="sagemaker:bayesian",
            strategy_options={"max_resource": 3},
        )  # fmt: skip
    with pytest.raises(StrategyError, match="min_resource"):
        _tuner(
            job, space, instant_fake(), strategy="sagemaker:hyperband",
            strategy_options={"min_resource": 0},
        )  # fmt: skip


@pytest.mark.usefixtures("studies")
def test_max_cost_counts_the_tuning_jobs_running_jobs_and_stops_it_in_time(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace
) -> None:
    # a dollar a second: the budget is spent a second into the first jobs' training,
    # long before any of them ends (at 60 s) and is billed
    with instant_fake(instant_training_seconds=60.0) as fake:
        result = _tuner(
            job, space, fake, strategy="sagemaker:random", max_jobs=8, max_parallel_jobs=2,
            study_name="sm-cost", max_cost=1.0, prices={"ml.m5.large": 3600.0},
        ).run()  # fmt: skip
        assert fake.aws.api_calls["StopHyperParameterTuningJob"] == 1
    assert str(result.stop_reason).startswith("max_cost reached")
    assert len(result.table()) == 2
    assert set(result.table()["status"]) == {"Stopped"}
