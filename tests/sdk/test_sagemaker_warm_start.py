"""The drop-in tuner's ``warm_start_config`` with SageMaker's own strategies: its parents and
its type reach the tuning job's ``WarmStartConfig``."""

from __future__ import annotations

import enum

import pytest

import byohpo
from byohpo.errors import UserError
from byohpo.sdk._tuner import HyperparameterTuner
from tests.sdk.conftest import instant_fake
from tests.sdk.test_drop_in import METRICS, RANGES


class WarmStartTypes(enum.Enum):  # the SDK v2's enum
    IDENTICAL_DATA_AND_ALGORITHM = "IdenticalDataAndAlgorithm"
    TRANSFER_LEARNING = "TransferLearning"


class WarmStartConfig:  # the SDK v2's names and attributes
    def __init__(self, warm_start_type: WarmStartTypes, parents: set[str]) -> None:
        self.type, self.parents = warm_start_type, parents


@pytest.mark.usefixtures("studies")
def test_the_sdks_warm_start_config_is_the_tuning_jobs_own(job: byohpo.TrainingJob) -> None:
    with instant_fake() as fake:
        parent = HyperparameterTuner(
            job, "validation:accuracy", RANGES, METRICS, strategy="Random", max_jobs=3,
            max_parallel_jobs=3, backend=fake, progress=False,
        )  # fmt: skip
        parent.fit(job_name="drop-parent")
        child = HyperparameterTuner(
            job, "validation:accuracy", RANGES, METRICS, strategy="Bayesian", max_jobs=2,
            max_parallel_jobs=2, backend=fake, progress=False,
            warm_start_config=WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, {"drop-parent"}),
        )  # fmt: skip
        child.fit(job_name="drop-child")
        answer = (
            fake.aws.session()
            .client("sagemaker")
            .describe_hyper_parameter_tuning_job(HyperParameterTuningJobName="drop-child")
        )
    assert answer["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": "drop-parent"}],
        "WarmStartType": "TransferLearning",
    }
    assert len(child.analytics().dataframe()) == 2


@pytest.mark.usefixtures("studies")
def test_six_parents_are_refused_as_sagemaker_would(job: byohpo.TrainingJob) -> None:
    parents = {f"parent-{i}" for i in range(6)}
    tuner = HyperparameterTuner(
        job, "validation:accuracy", RANGES, METRICS, strategy="Bayesian", max_jobs=2,
        backend=instant_fake(), progress=False,
        warm_start_config=WarmStartConfig(WarmStartTypes.TRANSFER_LEARNING, parents),
    )  # fmt: skip
    with pytest.raises(UserError, match="at most 5 parent tuning jobs"):
        tuner.fit(job_name="six-parents")
