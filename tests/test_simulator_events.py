"""Status by events in the simulator: few SageMaker calls per job, ends noticed in seconds,
and a lost event costs a late notice, never a lost job."""

from __future__ import annotations

from typing import Any

import pytest

import byohpo
from byohpo.errors import UserError
from byohpo.simulator import Simulator, StartupModel
from byohpo.simulator._events import EventDelivery
from byohpo.study._store import MemoryEventLog
from byohpo.trial import JobState
from tests.test_simulator import METRIC, SPACE, accuracy, template

SAGEMAKER = ("CreateTrainingJob", "DescribeTrainingJob", "ListTrainingJobs", "StopTrainingJob")


class NoticingSimulator(Simulator):
    """Notes when the tuner first saw each job ended (a user notices nothing sooner)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.noticed: dict[str, float] = {}

    def poll(self, job_names: Any) -> list[JobState]:
        states = super().poll(job_names)
        for state in states:
            if state.status.is_terminal:
                self.noticed.setdefault(state.job_name, self.clock.now())
        return states

    def latencies(self) -> list[float]:
        return [self.noticed[j.name] - j.end for j in self.jobs()]


def run(events: EventDelivery | None, *, jobs: int = 24, parallel: int = 4) -> NoticingSimulator:
    sim = NoticingSimulator(
        accuracy,
        duration=3600.0,
        duration_sigma=0.0,
        startup=StartupModel(sigma=0.0),
        seed=3,
        events=events,
    )
    byohpo.Tuner(
        template(),
        SPACE,
        backend=sim,
        strategy="random",
        objective=METRIC,
        max_jobs=jobs,
        max_parallel_jobs=parallel,
        seed=1,
        study_name="sim",
        progress=False,
        store=MemoryEventLog(),
    ).run()
    return sim


def sagemaker_calls_per_job(sim: Simulator) -> float:
    return sum(sim.api_calls[a] for a in SAGEMAKER) / len(sim.jobs())


def test_hour_long_jobs_cost_about_two_calls_each_and_are_noticed_in_seconds() -> None:
    polling, evented = run(None), run(EventDelivery())
    assert [j.status for j in evented.jobs()] == [j.status for j in polling.jobs()]
    assert len(evented.jobs()) == 24
    assert sagemaker_calls_per_job(evented) <= 2.2 < sagemaker_calls_per_job(polling)
    assert max(evented.latencies()) <= 10.0 < max(polling.latencies())
    assert evented.api_calls["ReceiveMessage"] > 0 and polling.api_calls["ReceiveMessage"] == 0


def test_lost_events_are_found_by_the_safety_net_later() -> None:
    sim = run(EventDelivery(loss=0.5, safety_net_seconds=600.0), jobs=12)
    assert len(sim.jobs()) == 12
    assert all(j.status.value == "Completed" for j in sim.jobs())
    late = [x for x in sim.latencies() if x > 10.0]
    assert late and max(sim.latencies()) <= 600.0 + 60.0
    assert sim.api_calls["ListTrainingJobs"] >= 1


def test_reading_the_queue_only_when_polling_notices_later() -> None:
    long_poll = run(EventDelivery(wait_seconds=20), jobs=8)
    at_polls = run(EventDelivery(wait_seconds=0), jobs=8)
    assert max(long_poll.latencies()) < max(at_polls.latencies())
    assert sagemaker_calls_per_job(at_polls) <= 2.2


def test_a_wrong_delivery_is_refused() -> None:
    with pytest.raises(UserError):
        EventDelivery(loss=1.0)
    with pytest.raises(UserError):
        EventDelivery(wait_seconds=25)
