"""The simulated account: throttling at SageMaker's rates, API latency, instance quotas, and
what a poll costs however long a straggler runs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import pytest

import byohpo
from byohpo.backends._rates import Rate, RequestRates
from byohpo.errors import CapacityError, UserError
from byohpo.simulator import AccountLimits, JobContext, Outcome, Simulator
from byohpo.study._store import MemoryEventLog
from byohpo.trial import LaunchRequest

METRIC = "validation:accuracy"
SPACE = byohpo.SearchSpace({"x": byohpo.Continuous(0.0, 1.0)})


def template(**changes: Any) -> byohpo.TrainingJob:
    fields: dict[str, Any] = {
        "entry_point": None,
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        "role": "arn:aws:iam::123456789012:role/SageMakerRole",
        "output_path": "s3://my-bucket/studies",
        "metric_definitions": {METRIC: r"accuracy=([0-9\.]+)"},
        "max_runtime_seconds": 10 * 86400,
    }
    fields.update(changes)
    return byohpo.TrainingJob(**fields)


def accuracy(hp: Mapping[str, Any]) -> dict[str, float]:
    return {METRIC: float(hp["x"])}


def run(sim: Simulator, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "strategy": "random",
        "objective": METRIC,
        "mode": "async",
        "seed": 0,
        "progress": False,
        "store": MemoryEventLog(),
    }
    job = options.pop("job", template())
    settings.update(options)
    return byohpo.Tuner(job, SPACE, backend=sim, **settings).run()


def test_a_paced_study_of_100_in_parallel_is_never_throttled() -> None:
    sim = Simulator(accuracy, duration=600, seed=0)
    result = run(sim, max_jobs=300, max_parallel_jobs=100)
    assert result.jobs_launched == 300
    assert sum(sim.throttled_calls.values()) == 0
    assert sim.usage().throttled_calls == 0
    assert sim.usage().api_calls == sum(sim.api_calls.values())


def test_unpaced_bursts_are_throttled_counted_and_retried() -> None:
    sim = Simulator(accuracy, duration=600, seed=0, list_calls_per_second=None)
    result = run(sim, max_jobs=100, max_parallel_jobs=100)
    assert result.jobs_launched == 100  # every throttled request was retried
    throttled = sim.throttled_calls["CreateTrainingJob"]
    assert throttled > 0
    assert sim.api_calls["CreateTrainingJob"] == 100 + throttled
    assert sim.usage().throttled_calls == sum(sim.throttled_calls.values())


def test_api_latency_moves_the_clock() -> None:
    sim = Simulator(accuracy, duration=600, seed=0, limits=AccountLimits(api_latency=0.5))
    sim.open("latency", template())
    start = sim.clock.now()
    sim.submit(LaunchRequest(0, {"x": "0.5"}))
    assert sim.clock.now() - start == pytest.approx(0.5)


def test_a_quota_refuses_jobs_beyond_it_and_the_study_runs_within_it() -> None:
    limits = AccountLimits(instance_quotas={template().instance_type: 3})
    sim = Simulator(accuracy, duration=600, seed=0, limits=limits)
    sim.open("quota", template())
    for trial in range(3):
        sim.submit(LaunchRequest(trial, {"x": "0.5"}))
    with pytest.raises(CapacityError, match=r"ResourceLimitExceeded.*is 3 Instances"):
        sim.submit(LaunchRequest(3, {"x": "0.5"}))

    sim = Simulator(accuracy, duration=600, seed=0, limits=limits)
    result = run(sim, max_jobs=12, max_parallel_jobs=6)
    assert result.jobs_launched == 12
    jobs = sim.jobs()
    most = max(sum(1 for j in jobs if j.created <= t < j.end) for t in (j.created for j in jobs))
    assert most <= 3


def test_throttling_follows_the_rates_given() -> None:
    limits = AccountLimits(rates=RequestRates({"CreateTrainingJob": Rate(1.0, burst=2)}))
    sim = Simulator(accuracy, duration=600, seed=0, limits=limits, list_calls_per_second=None)
    sim.open("rates", template())
    for trial in range(4):
        sim.submit(LaunchRequest(trial, {"x": "0.5"}))
    assert sim.throttled_calls["CreateTrainingJob"] >= 2


def test_bad_limits_are_refused() -> None:
    with pytest.raises(UserError, match="api_latency"):
        AccountLimits(api_latency=-1)
    with pytest.raises(UserError, match="instance_quotas"):
        AccountLimits(instance_quotas={"ml.m5.xlarge": -2})


class Stragglers:
    """Jobs of 20 minutes, but four trials hang for five days."""

    def run(self, job: JobContext) -> Outcome:
        seconds = 5 * 86400.0 if job.trial_id in (3, 10, 50, 200) else 1200.0
        return Outcome(training_seconds=seconds, metrics={METRIC: 0.5})


def test_stragglers_do_not_make_polls_page_through_the_whole_study() -> None:
    sim = Simulator(Stragglers(), seed=0)
    result = run(sim, max_jobs=600, max_parallel_jobs=20)
    assert result.jobs_launched == 600
    # the oldest straggler is 600 jobs back: listing from it would take 6 pages a poll
    assert max(sim.poll_pages) == 1
    assert sim.api_calls["ListTrainingJobs"] == sum(sim.poll_pages.values())
    assert sim.api_calls["DescribeTrainingJob"] == 600  # once per job, when it ended
    assert math.isfinite(sim.usage().wall_seconds)
