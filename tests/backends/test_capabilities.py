"""The backend seam: a core of submit, poll, stop and list; curves, log lines, checkpoint
copies and waiting on events are capabilities a backend offers, checked before any job."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import pytest

import byohpo
from byohpo.backends._base import (
    Backend,
    CopiesCheckpoints,
    ReadsCurves,
    ReadsLogs,
    WaitsForChange,
    offers,
)
from byohpo.errors import BackendCapabilityError, UserError
from byohpo.job import TrainingJob
from byohpo.simulator import Simulator, StartupModel
from byohpo.study._store import MemoryEventLog
from byohpo.trial import JobState, LaunchRequest

METRIC = "validation:accuracy"
NO_STARTUP = StartupModel(cold_seconds=0, warm_seconds=0, sigma=0, upload_seconds=0)
SPACE = byohpo.SearchSpace(
    {
        "learning_rate": byohpo.Continuous(1e-4, 1e-1, scaling="log"),
        "num_epoch": byohpo.Integer(1, 12),
    }
)
PBT = {"population_size": 4, "generations": 2, "step_parameter": "num_epoch", "step_size": 2}


def accuracy(hp: Mapping[str, Any]) -> dict[str, float]:
    return {METRIC: 1.0 - abs(float(hp["learning_rate"]) - 0.01) * 5}


def template(**changes: Any) -> TrainingJob:
    fields: dict[str, Any] = {
        "entry_point": None,
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        "role": "arn:aws:iam::123456789012:role/SageMakerRole",
        "output_path": "s3://my-bucket/studies",
        "checkpoint_s3_uri": "s3://my-bucket/checkpoints",
        "metric_definitions": {METRIC: r"accuracy=([0-9\.]+)"},
    }
    fields.update(changes)
    return TrainingJob(**fields)


class CoreOnly(Backend):
    """A backend of the user's own with the core alone (its jobs run on a simulator)."""

    def __init__(self) -> None:
        self.inner = Simulator(accuracy, duration=600, startup=NO_STARTUP, seed=0)
        self.clock = self.inner.clock
        self.min_poll_interval = self.inner.min_poll_interval
        self.submitted: list[LaunchRequest] = []

    def open(self, study_name: str, job: TrainingJob) -> None:
        self._study = study_name
        self.inner.study_id = self.study_id
        self.inner.open(study_name, job)

    def submit(self, request: LaunchRequest) -> str:
        self.submitted.append(request)
        return self.inner.submit(request)

    def poll(self, job_names: Collection[str]) -> list[JobState]:
        return self.inner.poll(job_names)

    def stop(self, job_name: str) -> None:
        self.inner.stop(job_name)

    def list_study_jobs(self) -> list[JobState]:
        return self.inner.list_study_jobs()


def run(backend: Backend, **options: Any) -> byohpo.StudyResult:
    settings: dict[str, Any] = {
        "strategy": "random",
        "objective": METRIC,
        "max_jobs": 6,
        "max_parallel_jobs": 2,
        "seed": 1,
        "study_name": "core",
        "progress": False,
        "store": MemoryEventLog(),
    }
    settings.update(options)
    return byohpo.Tuner(template(), SPACE, backend=backend, **settings).run()


def test_byohpos_own_backends_offer_what_they_can() -> None:
    sim = Simulator(accuracy, duration=600)
    fake = byohpo.FakeSageMaker(instant=True, metrics_fn=lambda hp: {METRIC: 0.5})
    for backend in (byohpo.SageMakerBackend(region="us-east-1"), fake):
        for capability in (ReadsCurves, ReadsLogs, CopiesCheckpoints, WaitsForChange):
            assert offers(backend, capability), (backend, capability)
    assert [offers(sim, c) for c in (ReadsCurves, CopiesCheckpoints, WaitsForChange)] == [
        True,
        True,
        True,
    ]
    assert not offers(sim, ReadsLogs)  # simulated jobs print nothing to show
    core = CoreOnly()
    for capability in (ReadsCurves, ReadsLogs, CopiesCheckpoints, WaitsForChange):
        assert not offers(core, capability)


def test_a_backend_with_the_core_alone_runs_a_study() -> None:
    backend = CoreOnly()
    result = run(backend)
    table = result.table()
    assert len(table) == 6
    assert (table["status"] == "Completed").all()
    assert len(backend.submitted) == 6
    assert result.best()["validation:accuracy"] > 0.5


def test_early_stopping_on_a_backend_that_cannot_read_curves_is_refused_before_any_job() -> None:
    backend, store = CoreOnly(), MemoryEventLog()
    with pytest.raises(BackendCapabilityError) as caught:
        run(backend, early_stopping="median", store=store)
    message = str(caught.value)
    assert "early stopping" in message
    assert "ReadsCurves (a read_curves method)" in message
    assert "CoreOnly, which does not" in message
    assert "Drop early_stopping" in message
    assert isinstance(caught.value, UserError)  # the command line: exit 2, no traceback
    assert backend.submitted == []
    assert not store.exists(), "nothing recorded: the same study can be run again, fixed"


def test_pbt_on_a_backend_that_cannot_copy_checkpoints_is_refused_before_any_job() -> None:
    backend, store = CoreOnly(), MemoryEventLog()
    with pytest.raises(BackendCapabilityError) as caught:
        run(backend, strategy="pbt", strategy_options=PBT, max_jobs=8, store=store)
    message = str(caught.value)
    assert "the 'pbt' strategy starts jobs from another job's checkpoint" in message
    assert "CopiesCheckpoints (a copy_checkpoint method)" in message
    assert backend.submitted == []
    assert not store.exists()


class ReadsCurvesToo(CoreOnly):
    """The core and learning curves, but no checkpoint copies."""

    def read_curves(self, job_name: str) -> Mapping[str, list[tuple[float, float]]]:
        return self.inner.read_curves(job_name)


def test_ashas_promotion_form_on_a_backend_that_cannot_copy_checkpoints_is_refused() -> None:
    backend = ReadsCurvesToo()
    assert offers(backend, ReadsCurves) and not offers(backend, CopiesCheckpoints)
    with pytest.raises(BackendCapabilityError, match="ASHA's promotion form") as caught:
        run(backend, early_stopping="asha", early_stopping_options={"promote": True})
    assert "Drop promote" in str(caught.value)
    assert backend.submitted == []
