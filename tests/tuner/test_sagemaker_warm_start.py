"""SageMaker's own warm start: a ``sagemaker:`` study starts from parent tuning jobs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.errors import UserError
from byohpo.study._store import Store
from tests.tuner.conftest import instant_fake, study


def _tuning_job(fake: byohpo.FakeSageMaker, name: str) -> dict[str, Any]:
    client = fake.aws.session().client("sagemaker")
    answer: dict[str, Any] = client.describe_hyper_parameter_tuning_job(
        HyperParameterTuningJobName=name
    )
    return answer


def _parent(
    job: byohpo.TrainingJob,
    space: byohpo.SearchSpace,
    fake: byohpo.FakeSageMaker,
    name: str = "sm-parent",
    **options: Any,
) -> str:
    """Run a study (a sagemaker: one unless told) to its end; the name of its tuning job
    (the study's name if it ran none)."""
    options = {"strategy": "sagemaker:random", "max_jobs": 3, "max_parallel_jobs": 3, **options}
    tuner = study(job, space, fake, name, seed=2, **options)
    tuner.run()
    events = Store(tuner.store.location)
    return next((e["name"] for e in events if e["event"] == "tuning_job"), name)


def _events(studies: Path, name: str) -> list[dict[str, Any]]:
    return list(Store(studies / name))


def test_a_tuning_job_source_becomes_the_parent_of_sagemakers_tuning_job(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    with instant_fake() as fake:
        parent = _parent(job, space, fake)
        child = study(
            job, space, fake, "sm-child", strategy="sagemaker:bayesian", max_jobs=2,
            max_parallel_jobs=2, warm_start=[{"tuning_job": parent}],
        ).run()  # fmt: skip
        answer = _tuning_job(fake, "sm-child")
    # same image, same data: SageMaker's IdenticalDataAndAlgorithm, as its SDK's
    # identical_dataset_and_algorithm_tuner() would ask
    assert answer["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
        "WarmStartType": "IdenticalDataAndAlgorithm",
    }
    assert len(child.table()) == 2  # the parent's jobs are not run or recorded again
    events = _events(studies, "sm-child")
    kinds = [e["event"] for e in events]
    assert kinds.index("warm_start") < kinds.index("tuning_job")  # recorded before it is created
    (source,) = next(e for e in events if e["event"] == "warm_start")["sources"]
    assert source == {
        "source": parent, "kind": "tuning_job", "tuning_job": parent, "status": "Completed",
        "completed": 3, "warm_start_type": "IdenticalDataAndAlgorithm",
    }  # fmt: skip


def test_the_warm_start_type_is_an_option_and_a_study_that_ran_sagemaker_names_its_parent(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from byohpo.cli._main import main

    with instant_fake() as fake:
        # a study name that is not a valid tuning job name: its tuning job is named otherwise
        parent = _parent(job, space, fake, name="sm_parent.v1")
        assert parent != "sm_parent.v1"
        study(
            job, space, fake, "sm-transfer", strategy="sagemaker:random", max_jobs=2,
            max_parallel_jobs=2, warm_start="sm_parent.v1",
            strategy_options={"warm_start_type": "transfer_learning"},
        ).run()  # fmt: skip
        answer = _tuning_job(fake, "sm-transfer")
    assert answer["WarmStartConfig"] == {
        "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": parent}],
        "WarmStartType": "TransferLearning",
    }
    capsys.readouterr()
    assert main(["status", "sm-transfer"]) == 0
    out = capsys.readouterr().out
    assert f"SageMaker's tuner starts from tuning job {parent} (study sm_parent.v1)" in out
    assert "3 completed training jobs, TransferLearning" in out


def _still_running(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, fake: byohpo.FakeSageMaker
) -> str:
    """A tuning job whose jobs are still training (its study was interrupted, jobs kept)."""

    class InterruptAtOnce:
        def now(self) -> float:
            return 0.0

        def sleep(self, seconds: float) -> None:
            raise KeyboardInterrupt

    return _parent(job, space, fake, "sm-running", on_interrupt="keep", clock=InterruptAtOnce())


REFUSALS: dict[str, tuple[Callable[..., Any], str]] = {
    "a byohpo study": (
        lambda job, space, fake: [_parent(job, space, fake, "bo-parent", strategy="random")],
        "a byohpo study is one only if it ran a 'sagemaker:' strategy",
    ),
    "no such tuning job": (
        lambda job, space, fake: [{"tuning_job": "no-such-tuning-job"}],
        "must be a tuning job that exists",
    ),
    "a running parent": (
        lambda job, space, fake: [{"tuning_job": _still_running(job, space, fake)}],
        "tuning job sm-running is InProgress",
    ),
    "another objective": (
        lambda job, space, fake: [
            {"tuning_job": _parent(job, space, fake, objective="train:seconds")}
        ],
        "optimized 'train:seconds', this study 'validation:accuracy'",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_a_parent_sagemaker_would_refuse_is_refused_before_anything_is_recorded(
    case: str, job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    make_sources, match = REFUSALS[case]
    seconds = 60.0 if case == "a running parent" else 0.0
    with instant_fake(instant_training_seconds=seconds) as fake:
        sources = make_sources(job, space, fake)
        created = fake.aws.api_calls["CreateHyperParameterTuningJob"]
        with pytest.raises(UserError, match=match):
            study(
                job, space, fake, "sm-refused", strategy="sagemaker:bayesian", max_jobs=2,
                max_parallel_jobs=2,
                warm_start=sources,
            ).run()  # fmt: skip
        assert fake.aws.api_calls["CreateHyperParameterTuningJob"] == created
    assert not (studies / "sm-refused" / "events.jsonl").exists()


def test_a_changed_number_of_hyperparameters_is_refused_with_the_way_out(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    wider = byohpo.SearchSpace({**dict(space.items()), "lr": byohpo.Continuous(0.01, 0.1)})
    with instant_fake() as fake:
        parent = _parent(job, space, fake)
        with pytest.raises(UserError, match=r"only here: \['lr'\]") as refused:
            study(
                job, wider, fake, "sm-wider", strategy="sagemaker:bayesian",
                warm_start={"tuning_job": parent},
            ).run()  # fmt: skip
    assert "warm start a byohpo strategy" in str(refused.value)
    assert not (studies / "sm-wider" / "events.jsonl").exists()


def test_more_than_five_parents_are_refused_when_the_tuner_is_made(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    sources = [{"tuning_job": f"parent-{i}"} for i in range(6)]
    with pytest.raises(UserError, match="at most 5 parent tuning jobs"):
        study(job, space, instant_fake(), "sm-six", strategy="sagemaker:random", warm_start=sources)
    with pytest.raises(UserError, match="no tuning job of that name, and no study"):
        study(
            job, space, instant_fake(), "sm-dir", strategy="sagemaker:random",
            warm_start=str(studies / "old"),
        ).run()  # fmt: skip
    assert not (studies / "sm-six").exists()


def test_a_resumed_study_creates_its_tuning_job_with_the_recorded_parents(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path, tmp_path: Path
) -> None:
    with instant_fake() as fake:
        parent = _parent(job, space, fake)
        study(
            job, space, fake, "sm-crash", strategy="sagemaker:random", max_jobs=2,
            max_parallel_jobs=2, warm_start=[{"tuning_job": parent}],
        ).run()  # fmt: skip
    # cut the log as a crash right after the warm start was recorded would
    log = studies / "sm-crash" / "events.jsonl"
    lines = log.read_text().splitlines()
    warm_line = next(i for i, line in enumerate(lines) if '"event":"warm_start"' in line)
    log.write_text("\n".join(lines[: warm_line + 1]) + "\n")
    # another account's fake: the same parent, and nothing of the crashed study
    with instant_fake() as other:
        _parent(job, space, other, store=str(tmp_path / "elsewhere"))
        resumed = byohpo.Tuner.resume("sm-crash", backend=other, progress=False)
        answer = _tuning_job(other, "sm-crash")
    assert answer["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [
        {"HyperParameterTuningJobName": parent}
    ]
    assert len(resumed.table()) == 2
    assert [e["event"] for e in resumed.log.events].count("warm_start") == 1


def _create(fake: byohpo.FakeSageMaker, like: str, parents: list[str], **config: Any) -> str:
    """CreateHyperParameterTuningJob "child", made like the tuning job ``like`` and warm-started
    from ``parents``, straight through boto3: "created", or SageMaker's error."""
    from botocore.exceptions import ClientError

    model = _tuning_job(fake, like)
    try:
        fake.aws.session().client("sagemaker").create_hyper_parameter_tuning_job(
            HyperParameterTuningJobName="child",
            HyperParameterTuningJobConfig={**model["HyperParameterTuningJobConfig"], **config},
            TrainingJobDefinition=model["TrainingJobDefinition"],
            WarmStartConfig={
                "ParentHyperParameterTuningJobs": [
                    {"HyperParameterTuningJobName": p} for p in parents
                ],
                "WarmStartType": "TransferLearning",
            },
        )
    except ClientError as exc:
        return f"{exc.response['Error']['Code']}: {exc.response['Error']['Message']}"
    return "created"


def test_the_fakes_tuning_jobs_refuse_parents_that_sagemaker_would(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    with instant_fake(instant_training_seconds=60.0) as fake:
        running = _still_running(job, space, fake)
        assert _create(fake, running, [running]).startswith(
            "ValidationException: Parent hyper parameter tuning job sm-running is in status "
            "InProgress"
        )
        assert _create(fake, running, ["gone"]).startswith("ResourceNotFound")
        six = _create(fake, running, [running] * 6)  # the API model's limit of five
        assert six.startswith("ValidationException") and "5" in six
    with instant_fake() as fake:
        ended = _parent(job, space, fake)
        other = {"HyperParameterTuningJobObjective": {"Type": "Minimize", "MetricName": "loss"}}
        assert "must be the same as the objective metric" in _create(fake, ended, [ended], **other)
        assert _create(fake, ended, [ended]) == "created"
        assert _tuning_job(fake, "child")["WarmStartConfig"] == {
            "ParentHyperParameterTuningJobs": [{"HyperParameterTuningJobName": ended}],
            "WarmStartType": "TransferLearning",
        }


def test_the_jobs_sagemakers_tuner_launches_get_the_spaces_static_values(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    with instant_fake() as fake:
        _parent(job, space, fake)
        client = fake.aws.session().client("sagemaker")
        jobs = client.list_training_jobs()["TrainingJobSummaries"]
        values = [
            client.describe_training_job(TrainingJobName=j["TrainingJobName"])["HyperParameters"]
            for j in jobs
        ]
    assert len(values) == 3
    assert all(v["batch_size"] == "32" for v in values)  # Static(32) in the space
