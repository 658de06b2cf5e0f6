"""How the loop paces its polls and counts money while jobs run, seen on the simulator.

A poll of running jobs is a ListTrainingJobs summary, which has no
``TrainingStartTime``: the loop must still know how long each job has been
training, to poll long jobs less often and to count what running jobs cost.
"""

from __future__ import annotations

from typing import Any

import byohpo
from byohpo.simulator import Simulator
from byohpo.study._store import MemoryEventLog

METRIC = "validation:accuracy"
SPACE = byohpo.SearchSpace({"x": byohpo.Continuous(0.0, 1.0)})


def run(sim: Simulator, **options: Any) -> byohpo.StudyResult:
    job = byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_type="ml.g5.xlarge",
        output_path="s3://my-bucket/studies",
        metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
    )
    settings: dict[str, Any] = {
        "strategy": "random",
        "objective": METRIC,
        "seed": 0,
        "progress": False,
        "store": MemoryEventLog(),
    }
    settings.update(options)
    return byohpo.Tuner(job, SPACE, backend=sim, **settings).run()


def score(hp: Any) -> dict[str, float]:
    return {METRIC: float(hp["x"])}


def test_long_jobs_are_polled_less_often_than_short_ones() -> None:
    sim = Simulator(score, duration=2 * 3600, seed=0)
    run(sim, max_jobs=8, max_parallel_jobs=4)
    every_five_seconds = sim.usage().wall_seconds / sim.min_poll_interval
    assert sim.api_calls["ListTrainingJobs"] < every_five_seconds / 3


def test_async_slots_stay_full_with_log_normal_durations_where_generations_wait() -> None:
    def utilization(mode: str) -> float:
        sim = Simulator(score, duration=1200, duration_sigma=0.5, seed=0)
        run(sim, max_jobs=200, max_parallel_jobs=8, mode=mode)
        return sim.usage().slot_utilization(8)

    assert utilization("async") >= 0.95
    assert utilization("generational") < 0.7


def test_max_cost_counts_the_jobs_still_running() -> None:
    sim = Simulator(score, duration=10 * 3600, seed=0)
    result = run(sim, max_jobs=4, max_parallel_jobs=4, max_cost=5.0)
    assert result.stop_reason is not None and result.stop_reason.startswith("max_cost")
    assert (result.table()["status"] == "Stopped").all()
    cost = sim.usage().cost
    assert cost is not None and cost < 6.0  # not the $56 of ten hours
