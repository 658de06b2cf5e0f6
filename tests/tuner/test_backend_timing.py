"""Timing is the study's, not the backend's: a backend only declares its clock and its polling
limit, and the study's pacing decides every wait from them and the study's ``poll_interval``."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from itertools import pairwise
from typing import Any

import byohpo
from byohpo._clock import VirtualClock, WallClock
from byohpo.backends._base import Backend, KeepsTime, LimitsPolling, offers
from byohpo.job import TrainingJob
from byohpo.simulator import Simulator, StartupModel
from byohpo.study._store import MemoryEventLog
from byohpo.trial import JobState, LaunchRequest

METRIC = "validation:accuracy"
NO_STARTUP = StartupModel(cold_seconds=0, warm_seconds=0, sigma=0, upload_seconds=0)
SPACE = byohpo.SearchSpace({"learning_rate": byohpo.Continuous(1e-4, 1e-1, scaling="log")})


def accuracy(hp: Mapping[str, Any]) -> dict[str, float]:
    return {METRIC: 1.0 - abs(float(hp["learning_rate"]) - 0.01) * 5}


class OwnClock(Backend):
    """A backend of the user's own whose jobs live in virtual time: it declares its clock and
    nothing about polling; it notes when it was polled."""

    def __init__(self, duration: float = 600.0) -> None:
        self.inner = Simulator(accuracy, duration=duration, startup=NO_STARTUP, seed=0)
        self.clock = self.inner.clock
        self.polled_at: list[float] = []

    def open(self, study_name: str, job: TrainingJob) -> None:
        self._study = study_name
        self.inner.study_id = self.study_id
        self.inner.open(study_name, job)

    def submit(self, request: LaunchRequest) -> str:
        return self.inner.submit(request)

    def poll(self, job_names: Collection[str]) -> list[JobState]:
        self.polled_at.append(self.clock.now())
        return self.inner.poll(job_names)

    def stop(self, job_name: str) -> None:
        self.inner.stop(job_name)

    def list_study_jobs(self) -> list[JobState]:
        return self.inner.list_study_jobs()


class Limited(OwnClock):
    """The same backend, declaring that its service may be polled every 120 s at most."""

    min_poll_interval = 120.0


class NoClock(OwnClock):
    """A backend that declares no clock at all (its jobs run in real time)."""

    def __init__(self) -> None:
        super().__init__()
        del self.clock


def run(backend: Backend, **options: Any) -> byohpo.StudyResult:
    template = TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://my-bucket/studies",
        metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
    )
    settings: dict[str, Any] = {
        "strategy": "random",
        "objective": METRIC,
        "max_jobs": 4,
        "max_parallel_jobs": 2,
        "seed": 1,
        "study_name": "timing",
        "progress": False,
        "store": MemoryEventLog(),
        **options,
    }
    return byohpo.Tuner(template, SPACE, backend=backend, **settings).run()


def gaps(times: list[float]) -> list[float]:
    return [round(b - a, 6) for a, b in pairwise(times)]


def test_the_study_runs_on_the_clock_its_backend_declares_and_polls_no_faster_than_5_s() -> None:
    backend = OwnClock()
    assert offers(backend, KeepsTime) and not offers(backend, LimitsPolling)
    result = run(backend)
    assert result.trials == 4
    elapsed = backend.clock.now() - VirtualClock().now()
    assert elapsed >= 2 * 600  # two rounds of 600 s jobs, in virtual time
    assert backend.polled_at and min(gaps(backend.polled_at)) >= 5.0


def test_a_backend_declaring_a_polling_limit_is_never_polled_faster() -> None:
    backend = Limited()
    run(backend)
    assert min(gaps(backend.polled_at)) >= 120.0


def test_the_studys_poll_interval_is_the_wait_between_polls() -> None:
    backend = OwnClock()
    run(backend, poll_interval=45)
    assert set(gaps(backend.polled_at)) == {45.0}
    limited = Limited()
    run(limited, poll_interval=45)  # the service's limit wins over a shorter wish
    assert set(gaps(limited.polled_at)) == {120.0}


def test_a_backend_without_a_clock_gets_the_wall_clock() -> None:
    tuner = byohpo.Tuner(
        TrainingJob(
            entry_point=None,
            image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
            role="arn:aws:iam::123456789012:role/SageMakerRole",
            output_path="s3://my-bucket/studies",
            metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
        ),
        SPACE,
        objective=METRIC,
        backend=NoClock(),
        progress=False,
        store=MemoryEventLog(),
    )
    assert isinstance(tuner.clock, WallClock)
