"""A job belongs to exactly one study: a new study under an old name never sees old jobs.

On SageMaker a job name is taken forever in an account and region. A study gets a
unique id when it is created, in its jobs' names and tags, and a submit adopts an
existing job only when it is this trial's (same study id, same hyperparameters).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import byohpo
from byohpo.errors import JobConflictError, StudyBusyError
from byohpo.study._ownership import claim
from byohpo.trial import LaunchRequest

from .conftest import instant_fake, quadratic, study


def test_a_study_rerun_under_its_old_name_gets_its_own_jobs_and_results(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    with instant_fake() as fake:
        first = study(job, space, fake, "rerun", strategy="random", max_jobs=4, seed=1).run()
        shutil.rmtree(studies / "rerun")  # the store deleted (or the study run elsewhere)
        second = study(job, space, fake, "rerun", strategy="random", max_jobs=4, seed=2).run()
        all_jobs = {j.name for j in fake.aws.jobs()}
    old, new = first.table(), second.table()
    assert first.log.study_id != second.log.study_id
    assert set(old["job_name"]).isdisjoint(new["job_name"])
    assert all_jobs == set(old["job_name"]) | set(new["job_name"]), "8 jobs, none shared"
    assert all(name.startswith(f"rerun-{second.log.study_id}-t") for name in new["job_name"])
    for _, row in new.iterrows():  # each trial's metric is its own hyperparameters' result
        expected = quadratic({k: row[k] for k in ("x", "y", "kind")})["validation:accuracy"]
        assert row["validation:accuracy"] == pytest.approx(expected, abs=1e-6)


def test_submit_adopts_only_a_job_of_this_study_with_these_hyperparameters(
    job: byohpo.TrainingJob,
) -> None:
    with instant_fake() as fake:
        fake.study_id = "aaaa1111"
        fake.open("same", job)
        name = fake.submit(LaunchRequest(0, {"x": "0.3", "y": "7", "kind": "b"}))
        assert fake.submit(LaunchRequest(0, {"x": "0.3", "y": "7", "kind": "b"})) == name
        fake.open("same", job)  # opened again, as a resume after a crash does
        assert fake.submit(LaunchRequest(0, {"x": "0.3", "y": "7", "kind": "b"})) == name
        fake.open("same", job)
        with pytest.raises(JobConflictError, match=r"not this trial's.*other hyperparameters"):
            fake.submit(LaunchRequest(0, {"x": "0.9", "y": "1", "kind": "a"}))
        fake.study_id = None  # a study recorded before ids: its names have none
        fake.open("same", job)
        legacy = fake.submit(LaunchRequest(0, {"x": "0.3", "y": "7", "kind": "b"}))
        assert legacy == "same-t00000" and legacy != name
        assert len(fake.aws.jobs()) == 2, "nothing more was launched"


def test_a_study_run_by_a_live_process_is_refused_naming_that_process(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    held = claim(studies / "busy", "busy")  # as `byohpo run` in another terminal holds it
    options = {"strategy": "random", "max_jobs": 2, "max_parallel_jobs": 2}
    try:
        with instant_fake() as fake:
            with pytest.raises(StudyBusyError) as refused:
                study(job, space, fake, "busy", **options).run()
            assert not fake.aws.jobs(), "nothing was launched"
        assert f"process {os.getpid()}" in str(refused.value)
        assert "byohpo resume busy" in str(refused.value)
    finally:
        held.release()
    with instant_fake() as fake:
        assert len(study(job, space, fake, "busy", **options).run().table()) == 2
