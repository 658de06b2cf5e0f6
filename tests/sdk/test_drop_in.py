"""``byohpo.HyperparameterTuner``: the SageMaker SDK's tuner, its arguments and its answers.

These tests need no SDK: SDK-shaped range objects stand in for ``sagemaker.tuner``'s
(byohpo reads them by their attributes, as it reads the SDK's). The SDK's own
objects are exercised by ``test_notebook_v2.py`` in ``make test-sdk``.
"""

from __future__ import annotations

from typing import Any

import pytest

import byohpo
from byohpo.errors import JobDefinitionError, SearchSpaceError, UserError
from byohpo.sdk._analytics import SDK_COLUMNS
from byohpo.sdk._tuner import HyperparameterTuner, default_backend
from byohpo.study._warm_start import recorded_warm_start
from tests.sdk.conftest import instant_fake, quadratic


class ContinuousParameter:  # the SDK's names and attributes, nothing else
    def __init__(self, min_value: Any, max_value: Any, scaling_type: str = "Auto") -> None:
        self.min_value, self.max_value, self.scaling_type = min_value, max_value, scaling_type


class IntegerParameter(ContinuousParameter):
    pass


class CategoricalParameter:
    def __init__(self, values: list[Any]) -> None:
        self.values = values


RANGES = {
    "x": ContinuousParameter(0.0, 1.0),
    "y": IntegerParameter(1, 10),
    "kind": CategoricalParameter(["a", "b"]),
}
METRICS = [{"Name": "validation:accuracy", "Regex": r"Validation-accuracy=([0-9\.\-]+)"}]


def test_sdk_ranges_in_a_plain_dict_make_a_search_space() -> None:
    space = byohpo.SearchSpace({**RANGES, "lr": ContinuousParameter(1e-4, 0.1, "Logarithmic")})
    assert space["y"] == byohpo.Integer(1, 10)
    assert space["kind"] == byohpo.Categorical(["a", "b"])
    assert space["lr"] == byohpo.Continuous(1e-4, 0.1, scaling="log")


def test_an_sdk_range_byohpo_cannot_read_names_its_field() -> None:
    class PipelineVariable:
        pass

    with pytest.raises(SearchSpaceError, match=r"lr: the ContinuousParameter's max_value"):
        byohpo.SearchSpace({"lr": ContinuousParameter(0.0, PipelineVariable())})


def test_metric_definitions_in_the_sdks_list_form(job: byohpo.TrainingJob) -> None:
    fields = {
        **job.to_json(),
        "metric_definitions": METRICS,
        "tags": [{"Key": "team", "Value": "ml"}],
    }
    converted = byohpo.TrainingJob(**fields)
    assert converted.metric_definitions == {"validation:accuracy": METRICS[0]["Regex"]}
    assert converted.tags == {"team": "ml"}
    with pytest.raises(JobDefinitionError, match='"Name" and a "Regex"') as caught:
        byohpo.TrainingJob(**{**fields, "metric_definitions": [{"Name": "acc"}]})
    assert caught.value.field == "metric_definitions"


@pytest.mark.usefixtures("studies")
def test_the_sdks_positional_form_runs_a_study_and_answers_as_the_sdk(
    job: byohpo.TrainingJob,
) -> None:
    with default_backend(instant_fake()):
        tuner = HyperparameterTuner(
            job, "validation:accuracy", RANGES, METRICS, max_jobs=5, max_parallel_jobs=2,
            base_tuning_job_name="drop-in", progress=False,
        )  # fmt: skip
        tuner.fit()
    frame = tuner.analytics().dataframe()
    assert list(frame.columns[:9]) == ["x", "y", "kind", *SDK_COLUMNS]
    assert len(frame) == 5
    assert (frame["TrainingJobStatus"] == "Completed").all()
    assert (frame["TrainingElapsedTimeSeconds"] >= 0).all()
    for _, row in frame.iterrows():
        assert row["FinalObjectiveValue"] == pytest.approx(quadratic(row)["validation:accuracy"])
    best = frame.loc[frame["FinalObjectiveValue"].idxmax(), "TrainingJobName"]
    assert tuner.best_training_job() == best
    description = tuner.describe()
    assert description["HyperParameterTuningJobStatus"] == "Completed"
    assert description["TrainingJobStatusCounters"]["Completed"] == 5
    assert description["BestTrainingJob"]["TrainingJobName"] == best
    # another notebook picks the tuning job up by its name
    attached = HyperparameterTuner.attach(str(tuner.latest_tuning_job))
    assert attached.best_training_job() == best
    assert attached.analytics().dataframe().equals(frame)


@pytest.mark.usefixtures("studies")
def test_sagemakers_strategy_names_run_sagemakers_tuner_and_fit_can_return_at_once(
    job: byohpo.TrainingJob,
) -> None:
    fake = instant_fake()
    tuner = HyperparameterTuner(
        job, "validation:accuracy", RANGES, METRICS, strategy="Bayesian", max_jobs=3,
        max_parallel_jobs=3, backend=fake, progress=False,
    )  # fmt: skip
    tuner.fit(job_name="drop-in-bayes", wait=False)
    tuner.wait()
    assert fake.aws.api_calls["CreateHyperParameterTuningJob"] == 1
    assert len(tuner.analytics().dataframe()) == 3
    assert tuner.describe()["HyperParameterTuningJobConfig"]["Strategy"] == "sagemaker"


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"objective_type": "Max"}, "'Maximize' or 'Minimize'"),
        ({"early_stopping_type": "Auto", "strategy": "Bayesian"}, "median rule"),
        ({"early_stopping_type": "Sometimes"}, "'Off' or 'Auto'"),
        ({"warm_start_config": object()}, "WarmStartConfig naming its parent tuning jobs"),
        ({"strategy_config": {"HyperbandStrategyConfig": {}}}, "for strategy='Hyperband'"),
        ({"hyperparameters_to_keep_static": ["x"]}, "cannot name a tuned"),
    ],
)
def test_what_the_drop_in_cannot_do_is_said_before_any_job(
    job: byohpo.TrainingJob, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(UserError, match=match):
        HyperparameterTuner(job, "validation:accuracy", RANGES, METRICS, **options)


def test_a_tuner_without_a_tuning_job_says_to_fit_first(job: byohpo.TrainingJob) -> None:
    tuner = HyperparameterTuner(job, "validation:accuracy", RANGES, METRICS)
    with pytest.raises(UserError, match="fit"):
        tuner.best_training_job()
    with pytest.raises(UserError, match="no study at"):
        HyperparameterTuner.attach("never-ran", store="/nonexistent/never-ran")


@pytest.mark.usefixtures("studies")
@pytest.mark.parametrize("strategy", [None, "Random"])
def test_stop_tuning_job_stops_a_tuning_job_running_in_the_background(
    job: byohpo.TrainingJob, strategy: str | None
) -> None:
    with instant_fake(instant_training_seconds=60.0) as fake:
        tuner = HyperparameterTuner(
            job, "validation:accuracy", RANGES, METRICS, strategy=strategy, max_jobs=8,
            max_parallel_jobs=2, backend=fake, progress=False,
        )  # fmt: skip
        tuner.fit(job_name=f"stop-{strategy}", wait=False)
        tuner.stop_tuning_job()
        tuner.wait()
        assert tuner.describe()["HyperParameterTuningJobStatus"] == "Stopped"
        assert {j.status.value for j in fake.aws.jobs()} <= {"Stopping", "Stopped"}
        assert len(fake.aws.jobs()) <= 2  # none launched after the stop
        if strategy == "Random":
            assert fake.aws.api_calls["StopHyperParameterTuningJob"] == 1


def test_grid_search_runs_the_whole_grid_unless_told_otherwise(job: byohpo.TrainingJob) -> None:
    grid = {"kind": CategoricalParameter(["a", "b", "c"]), "y": CategoricalParameter([1, 2])}
    assert (
        HyperparameterTuner(job, "validation:accuracy", grid, METRICS, strategy="Grid").max_jobs
        == 6
    )
    assert (
        HyperparameterTuner(job, "validation:accuracy", grid, METRICS).max_jobs == 1
    )  # as the SDK


def test_early_stopping_auto_runs_byohpos_median_rule(job: byohpo.TrainingJob) -> None:
    tuner = HyperparameterTuner(
        job, "validation:accuracy", RANGES, METRICS, early_stopping_type="Auto", max_jobs=2,
        backend=instant_fake(), progress=False,
    )  # fmt: skip
    assert tuner.early_stopping == "median"


class WarmStartConfig:  # the SDK v2's names and attributes
    def __init__(self, warm_start_type: str, parents: set[str]) -> None:
        self.type, self.parents = warm_start_type, parents


@pytest.mark.usefixtures("studies")
def test_warm_start_config_starts_from_the_parent_tuning_jobs_trials(
    job: byohpo.TrainingJob,
) -> None:
    with default_backend(instant_fake()):
        parent = HyperparameterTuner(
            job, "validation:accuracy", RANGES, METRICS, max_jobs=5, max_parallel_jobs=5,
            progress=False,
        )  # fmt: skip
        parent.fit(job_name="parent-tuning")
        child = HyperparameterTuner(
            job, "validation:accuracy", {**RANGES, "x": ContinuousParameter(0.0, 0.6)}, METRICS,
            strategy="bo", max_jobs=2, max_parallel_jobs=2, progress=False,
            warm_start_config=WarmStartConfig("TransferLearning", {"parent-tuning"}),
        )  # fmt: skip
        child.fit(job_name="child-tuning")
    parent_x = parent.analytics().dataframe()["x"]
    warm = recorded_warm_start(child.result().log)
    assert warm is not None
    (source,) = warm.sources
    assert source["source"] == "parent-tuning"
    assert source["completed"] == 5
    assert source["used"] == int((parent_x <= 0.6).sum())
    assert len(child.analytics().dataframe()) == 2  # the parent's jobs were not run again


@pytest.mark.usefixtures("studies")
def test_hyperbands_strategy_config_reaches_the_tuning_job(job: byohpo.TrainingJob) -> None:
    fake = instant_fake()
    tuner = HyperparameterTuner(
        job, "validation:accuracy", RANGES, METRICS, strategy="Hyperband", max_jobs=2,
        max_parallel_jobs=2, backend=fake, progress=False,
        strategy_config={"HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}},
    )  # fmt: skip
    with fake:
        tuner.fit(job_name="hyperband")
        sagemaker = fake.aws.session().client("sagemaker")
        answer = sagemaker.describe_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="hyperband"
        )
    config = answer["HyperParameterTuningJobConfig"]
    assert config["Strategy"] == "Hyperband"
    assert config["StrategyConfig"] == {
        "HyperbandStrategyConfig": {"MinResource": 1, "MaxResource": 9}
    }
