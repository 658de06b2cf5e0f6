"""The tuner's loop as a user sees it: generations, budgets, failures, duplicates."""

from __future__ import annotations

from pathlib import Path

import pytest

import byohpo
from byohpo.errors import StudyStopped, UserError
from byohpo.fake._faults import FailureKind, Faults
from tests.tuner.conftest import instant_fake, study


def test_a_generational_study_launches_whole_generations_and_accounts_for_every_job(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    with instant_fake() as fake:
        result = study(
            job,
            space,
            fake,
            "gen",
            strategy="ga",
            strategy_options={"population_size": 4},
            max_jobs=12,
            max_parallel_jobs=4,
            seed=3,
        ).run()
        created = fake.api_calls["CreateTrainingJob"]
    table = result.table()
    assert len(table) == 12 + int(table["duplicate_of"].notna().sum())
    assert created == 12
    assert sorted(table["generation"].unique()) == [0, 1, 2]
    assert (table["status"] == "Completed").all()
    assert result.stop_reason == "max_jobs reached (12 jobs)"
    assert table.loc[table["duplicate_of"].isna(), "job_name"].is_unique
    assert result.best()["objective"] == table["objective"].max()


def test_async_mode_refills_slots_and_refuses_generational_strategies(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    with pytest.raises(UserError, match="mode='async' needs a strategy"):
        byohpo.Tuner(
            job,
            space,
            strategy="pso",  # a swarm moves whole generations: no asynchronous form
            objective="validation:accuracy",
            mode="async",
            backend=instant_fake(),
            progress=False,
        )
    with instant_fake() as fake:
        result = study(
            job,
            space,
            fake,
            "async",
            strategy="random",
            mode="async",
            max_jobs=10,
            max_parallel_jobs=3,
            seed=1,
        ).run()
    assert result.jobs_launched + int(result.table()["duplicate_of"].notna().sum()) >= 10
    assert result.jobs_launched == 10


def test_a_configuration_already_evaluated_is_not_paid_for_twice(
    job: byohpo.TrainingJob, studies: Path
) -> None:
    tiny = byohpo.SearchSpace(
        {"x": byohpo.Categorical([0.1, 0.3]), "y": byohpo.Integer(6, 7), "kind": byohpo.Static("b")}
    )
    with instant_fake() as fake:
        result = study(
            job, tiny, fake, "dups", strategy="random", max_jobs=4, max_parallel_jobs=2, seed=0
        ).run()
        created = fake.api_calls["CreateTrainingJob"]
    table = result.table()
    dups = table[table["duplicate_of"].notna()]
    assert created == result.jobs_launched <= 4  # only four distinct configurations exist
    assert len(dups) > 0
    for _, row in dups.iterrows():
        original = table.set_index("trial_id").loc[int(row["duplicate_of"])]
        assert row["objective"] == original["objective"]
        assert row["cost"] == 0
        assert (row["x"], row["y"]) == (original["x"], original["y"])


def test_a_broken_training_script_stops_the_study_after_one_generation(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    faults = Faults(seed=1, job_failure_rate=1.0, job_failure_kinds=(FailureKind.ALGORITHM,))
    with instant_fake(faults=faults) as fake:
        tuner = study(
            job,
            space,
            fake,
            "broken",
            strategy="ga",
            strategy_options={"population_size": 4},
            max_jobs=40,
            max_parallel_jobs=4,
        )
        with pytest.raises(StudyStopped, match="failed the same way") as info:
            tuner.run()
        created = fake.api_calls["CreateTrainingJob"]
    assert created <= 4
    assert "AlgorithmError" in str(info.value)
    result = byohpo.StudyResult.load(studies / "broken")
    assert "failed the same way" in (result.stop_reason or "")


def test_jobs_that_fail_for_sagemakers_own_reasons_are_retried(
    job: byohpo.TrainingJob,
    space: byohpo.SearchSpace,
    studies: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A job's injected fate follows its name, which holds the study's id: pin the id so the
    # same jobs fail on every run.
    monkeypatch.setattr("byohpo.study._tuner.new_study_id", lambda: "pinned01")
    faults = Faults(seed=4, job_failure_rate=0.3, job_failure_kinds=(FailureKind.INTERNAL,))
    with instant_fake(faults=faults) as fake:
        result = study(
            job, space, fake, "retry", strategy="random", max_jobs=16, max_parallel_jobs=4, seed=2
        ).run()
    table = result.table()
    retries = table[table["retry_of"].notna()]
    assert len(retries) > 0
    assert result.jobs_launched == 16
    for _, row in retries.iterrows():
        failed = table.set_index("trial_id").loc[int(row["retry_of"])]
        assert failed["status"] == "Failed"
        assert "InternalServerError" in failed["failure_reason"]
        assert failed["x"] == row["x"]


def test_the_cost_budget_ends_the_study_and_says_so(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    with instant_fake(instant_training_seconds=0.3) as fake:
        tuner = study(
            job,
            space,
            fake,
            "cost",
            strategy="random",
            max_jobs=50,
            max_parallel_jobs=2,
            max_cost=5.0,
            prices={"ml.m5.large": 36000.0},  # $10 a second
        )
        result = tuner.run()
    assert (result.stop_reason or "").startswith("max_cost reached")
    assert result.jobs_launched < 50


def test_an_existing_study_is_not_overwritten(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    def tuner() -> byohpo.Tuner:
        return study(
            job, space, instant_fake(), "once", strategy="random", max_jobs=2, max_parallel_jobs=2
        )

    tuner().run()
    with pytest.raises(UserError, match=r"already exists.*Tuner.resume\('once'\)"):
        tuner().run()


def test_throttling_and_failing_jobs_lose_nothing_in_a_50_job_study(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    from byohpo.backends._retry import RetryPolicy

    faults = Faults(seed=3, throttle_rate=0.3, job_failure_rate=0.1)
    with instant_fake(faults=faults, retry=RetryPolicy(base_delay=0.001, max_delay=0.01)) as fake:
        result = study(
            job,
            space,
            fake,
            "faulty",
            strategy="random",
            mode="async",
            max_jobs=50,
            max_parallel_jobs=5,
            seed=8,
        ).run()
        jobs_in_fake = {j.name: j for j in fake.aws.jobs()}
        throttled = sum(fake.throttled_calls.values())
    table = result.table()
    paid = table[table["duplicate_of"].isna()]
    assert throttled > 0
    assert len(paid) == 50 == len(jobs_in_fake)  # no twin, no job forgotten
    assert set(paid["job_name"]) == set(jobs_in_fake)
    for _, row in paid.iterrows():
        fake_job = jobs_in_fake[row["job_name"]]
        assert row["status"] == fake_job.status.value
        if row["status"] == "Failed":
            assert row["failure_reason"] == fake_job.failure_reason
    assert (paid["status"] == "Failed").sum() > 0


def test_resume_answers_a_duplicate_whose_original_finished_before_the_crash(
    job: byohpo.TrainingJob, studies: Path
) -> None:
    tiny = byohpo.SearchSpace(
        {"x": byohpo.Categorical([0.3]), "y": byohpo.Integer(6, 7), "kind": byohpo.Static("b")}
    )
    with instant_fake() as fake:
        result = study(
            job, tiny, fake, "crash", strategy="random", max_jobs=3, max_parallel_jobs=1, seed=0
        ).run()
        log = studies / "crash" / "events.jsonl"
        lines = log.read_text().splitlines()
        # Cut the log as a crash would have: after a duplicate was asked, before its answer.
        asked_dup = next(
            i
            for i, line in enumerate(lines)
            if '"event":"asked"' in line and '"duplicate_of":0' in line
        )
        log.write_text("\n".join(lines[: asked_dup + 1]) + "\n")
        resumed = byohpo.Tuner.resume("crash", backend=fake, progress=False)
    table = resumed.table()
    duplicate = table[table["duplicate_of"] == 0].iloc[0]
    assert duplicate["status"] == "Completed"
    assert duplicate["objective"] == table.loc[table["trial_id"] == 0, "objective"].iloc[0]
    assert len(table) >= len(result.table()) - 1
