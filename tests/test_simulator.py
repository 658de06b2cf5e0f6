"""The simulator as a user sees it: virtual time, start-up latency, spot, determinism, cost."""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo._clock import VIRTUAL_EPOCH, VirtualClock
from byohpo.errors import UserError
from byohpo.simulator import (
    FunctionProblem,
    JobContext,
    Outcome,
    Simulator,
    SpotMarket,
    StartupModel,
    TableProblem,
)
from byohpo.study._store import MemoryEventLog
from byohpo.trial import JobStatus, LaunchRequest

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
METRIC = "validation:accuracy"
NO_STARTUP = StartupModel(cold_seconds=0, warm_seconds=0, sigma=0, upload_seconds=0)


def template(**changes: Any) -> byohpo.TrainingJob:
    fields: dict[str, Any] = {
        "entry_point": None,
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        "role": ROLE,
        "output_path": "s3://my-bucket/studies",
        "metric_definitions": {METRIC: r"accuracy=([0-9\.]+)"},
    }
    fields.update(changes)
    return byohpo.TrainingJob(**fields)


SPACE = byohpo.SearchSpace(
    {
        "learning_rate": byohpo.Continuous(1e-4, 1e-1, scaling="log"),
        "num_epoch": byohpo.Integer(1, 20),
    }
)


def accuracy(hp: Mapping[str, Any]) -> dict[str, float]:
    return {METRIC: 1.0 - (math.log10(hp["learning_rate"]) + 2.5) ** 2 / 10}


def study(sim: Simulator, *, job: byohpo.TrainingJob | None = None, **options: Any) -> Any:
    settings: dict[str, Any] = {
        "strategy": "random",
        "objective": METRIC,
        "max_jobs": 20,
        "max_parallel_jobs": 4,
        "seed": 1,
        "study_name": "sim",
        "progress": False,
        "store": MemoryEventLog(),
    }
    settings.update(options)
    return byohpo.Tuner(job or template(), SPACE, backend=sim, **settings).run()


class FixedConfigs:
    """A strategy of the user's own that proposes a fixed list of configurations."""

    supports_async = True

    def __init__(self, configs: list[dict[str, Any]]) -> None:
        self.configs = list(configs)

    def ask(self, n: int) -> list[dict[str, Any]]:
        asked, self.configs = self.configs[:n], self.configs[n:]
        return asked

    def tell(self, config: Mapping[str, Any], metrics: Mapping[str, float] | None) -> None:
        pass


# -- virtual time -----------------------------------------------------------------------------
def test_a_virtual_clock_moves_only_when_slept_on() -> None:
    clock = VirtualClock()
    assert clock.now() == VIRTUAL_EPOCH
    clock.sleep(3600)
    clock.sleep(-5)
    clock.sleep(0)
    assert clock.now() == VIRTUAL_EPOCH + 3600


def test_a_study_of_hour_long_jobs_runs_in_virtual_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sim = Simulator(accuracy, duration=3600, seed=0)
    result = study(sim, max_jobs=8, max_parallel_jobs=4)
    table = result.table()
    assert (table["status"] == "Completed").all()
    usage = sim.usage()
    assert usage.wall_seconds > 2 * 3600  # two waves of hour-long jobs
    assert sim.clock.now() >= usage.ended_at
    assert table["billable_seconds"].min() >= 3600
    assert not any(tmp_path.iterdir())  # the in-memory store wrote nothing to disk


def test_a_thousand_job_study_completes_on_the_simulator() -> None:
    sim = Simulator(
        accuracy, duration=lambda hp: 60.0 * hp["num_epoch"], duration_sigma=0.5, seed=0
    )
    result = study(sim, max_jobs=1000, max_parallel_jobs=20, mode="async")
    assert result.jobs_launched == 1000
    assert sim.api_calls["CreateTrainingJob"] == 1000
    assert sim.api_calls["DescribeTrainingJob"] == 1000  # once per job, when it ended
    assert sim.usage().slot_utilization(20) > 0.9


# -- the start-up latency model --------------------------------------------------------------
def test_start_up_takes_about_two_minutes_cold_and_twenty_seconds_warm() -> None:
    model = StartupModel()
    rng = random.Random(0)
    cold = [sum(model.startup(False, rng)) for _ in range(2000)]
    warm = [sum(model.startup(True, rng)) for _ in range(2000)]
    assert statistics.median(cold) == pytest.approx(120, rel=0.05)
    assert statistics.median(warm) == pytest.approx(20, rel=0.05)
    assert statistics.stdev(cold) > 10  # spread, not a constant


def test_a_warm_pool_lets_later_jobs_start_in_seconds_and_is_billed() -> None:
    cold_sim = Simulator(accuracy, duration=600, seed=0)
    study(cold_sim, max_jobs=12, max_parallel_jobs=4, mode="async")
    warm_sim = Simulator(accuracy, duration=600, seed=0)
    study(
        warm_sim,
        job=template(keep_alive_seconds=300),
        max_jobs=12,
        max_parallel_jobs=4,
        mode="async",
    )
    cold, warm = cold_sim.usage(), warm_sim.usage()
    assert cold.warm_starts == 0 and cold.warm_pool_seconds == 0
    assert warm.warm_starts == 8  # every job after the first four
    starts = [j.phases[2][0] - j.created for j in warm_sim.jobs()]  # creation to Training
    assert max(starts[4:]) < 60 < min(starts[:4])
    assert warm.warm_pool_seconds > 0  # kept-alive instances are paid for
    assert warm.wall_seconds < cold.wall_seconds


# -- determinism -------------------------------------------------------------------------------
def test_the_same_seed_gives_the_same_study_and_another_seed_another() -> None:
    def run(seed: int) -> Any:
        sim = Simulator(accuracy, duration=600, duration_sigma=0.5, seed=seed)
        table = study(sim, max_jobs=12).table()
        # Job names carry each study's own unique id; everything else repeats.
        return table[["trial_id", "objective", "start_time", "end_time", "billable_seconds"]]

    first, again, other = run(7), run(7), run(8)
    assert first.equals(again)
    assert not first["billable_seconds"].equals(other["billable_seconds"])


# -- utilization -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("mode", "wall", "utilization"), [("generational", 600, 800 / 1200), ("async", 500, 800 / 1000)]
)
def test_slot_utilization_of_async_and_generational_studies(
    mode: str, wall: float, utilization: float
) -> None:
    # Jobs of 100 s and 300 s on two slots, no start-up. Generational: (100, 300) then
    # (100, 300), 600 s. Async: the short job's slot runs the next two, 500 s.
    lengths = {"short": 100.0, "long": 300.0}
    space = byohpo.SearchSpace(
        {"length": byohpo.Categorical(["short", "long"]), "n": byohpo.Integer(0, 9)}
    )
    configs = [{"length": length, "n": n} for n, length in enumerate(["short", "long"] * 2)]
    sim = Simulator(
        lambda hp: {METRIC: 0.5},
        duration=lambda hp: lengths[hp["length"]],
        startup=NO_STARTUP,
        seed=0,
    )
    byohpo.Tuner(
        template(),
        space,
        strategy=FixedConfigs(configs),
        objective=METRIC,
        max_jobs=4,
        max_parallel_jobs=2,
        mode=mode,
        backend=sim,
        poll_interval=5.0,
        store=MemoryEventLog(),
        progress=False,
    ).run()
    usage = sim.usage()
    assert usage.wall_seconds == pytest.approx(wall)
    assert usage.occupied_seconds == pytest.approx(800)
    assert usage.slot_utilization(2) == pytest.approx(utilization)


# -- spot -------------------------------------------------------------------------------------
def spot_job(**changes: Any) -> byohpo.TrainingJob:
    options: dict[str, Any] = {
        "use_spot": True,
        "max_runtime_seconds": 7200,
        "max_wait_seconds": 14400,
        "checkpoint_s3_uri": "s3://my-bucket/checkpoints",
    }
    options.update(changes)
    return template(**options)


def test_spot_bills_the_discounted_seconds() -> None:
    sim = Simulator(accuracy, duration=1000, startup=NO_STARTUP, seed=0)
    table = study(sim, job=spot_job(), max_jobs=4).table()
    assert (table["billable_seconds"] == math.ceil(1000 * 0.3)).all()
    on_demand = Simulator(accuracy, duration=1000, startup=NO_STARTUP, seed=0)
    assert study(on_demand, max_jobs=4).table()["billable_seconds"].eq(1000).all()
    spot_cost, full_cost = sim.usage().cost, on_demand.usage().cost
    assert spot_cost is not None and full_cost is not None
    assert spot_cost == pytest.approx(full_cost * 0.3, rel=0.01)


def test_spot_interruptions_cost_time_and_lose_work_without_checkpoints() -> None:
    market = SpotMarket(interruptions_per_hour=2.0, checkpoint_every=60)
    kept = Simulator(accuracy, duration=3600, spot=market, seed=0)
    study(kept, job=spot_job(), max_jobs=8)
    lost = Simulator(accuracy, duration=3600, spot=market, seed=0)
    with pytest.warns(UserWarning, match="starts over"):
        lost_job = spot_job(checkpoint_s3_uri=None)
    study(lost, job=lost_job, max_jobs=8)
    assert kept.usage().interruptions > 0
    assert all(j.training_seconds() >= 3600 for j in kept.jobs())
    assert lost.usage().training_seconds > kept.usage().training_seconds  # work done twice


def test_a_spot_job_waiting_past_max_wait_is_stopped() -> None:
    market = SpotMarket(interruptions_per_hour=30.0)
    sim = Simulator(accuracy, duration=3000, spot=market, seed=0)
    job = spot_job(max_wait_seconds=7200)
    table = study(sim, job=job, max_jobs=4).table()
    assert (table["status"] == "Stopped").all()
    assert table["failure_reason"].str.contains("MaxWaitTimeInSeconds").all()


# -- what jobs report ----------------------------------------------------------------------------
def test_only_the_metrics_the_job_defines_reach_the_study() -> None:
    sim = Simulator(lambda hp: {METRIC: 0.9, "secret": 1.0}, duration=60, seed=0)
    result = study(sim, max_jobs=2, max_parallel_jobs=2)
    assert "secret" not in result.table().columns
    assert [dict(j.final_metrics()) for j in sim.jobs()] == [{METRIC: 0.9}] * 2


def test_a_function_that_raises_fails_its_job_with_the_message() -> None:
    def crashes(hp: Mapping[str, Any]) -> dict[str, float]:
        if hp["num_epoch"] > 10:
            raise ValueError("diverged")
        return accuracy(hp)

    sim = Simulator(crashes, duration=60, seed=0)
    table = study(sim, max_jobs=12).table()
    failed = table[table["status"] == "Failed"]
    assert len(failed) > 0 and (table.loc[table["num_epoch"] > 10, "status"] == "Failed").all()
    assert failed["failure_reason"].str.contains("ValueError: diverged").all()


def test_a_problem_must_be_a_problem_or_a_function() -> None:
    with pytest.raises(UserError, match="needs a Problem"):
        Simulator(42)  # type: ignore[arg-type]
    with pytest.raises(UserError, match="apply to a metrics function"):
        Simulator(FunctionProblem(accuracy), duration=10)
    with pytest.raises(UserError, match="log-normal"):
        FunctionProblem(accuracy, duration_sigma=-1)


def test_poll_counts_one_list_page_per_hundred_jobs_to_look_through() -> None:
    sim = Simulator(accuracy, duration=600, seed=0)
    sim.open("pages", template())
    names = [
        sim.submit(LaunchRequest(i, {"learning_rate": "0.01", "num_epoch": "3"}))
        for i in range(250)
    ]
    before = sim.api_calls["ListTrainingJobs"]
    sim.poll(names[-10:])
    sim.poll(names)  # the oldest is 250 jobs back: three pages
    assert sim.api_calls["ListTrainingJobs"] - before == 1 + 3


def test_a_stopped_job_bills_until_it_has_stopped() -> None:
    sim = Simulator(accuracy, duration=3600, startup=NO_STARTUP, seed=0)
    sim.open("stop", template())
    name = sim.submit(LaunchRequest(0, {"learning_rate": "0.01", "num_epoch": "3"}))
    sim.clock.sleep(600)
    sim.stop(name)
    sim.clock.sleep(60)
    state = sim.poll([name])[0]
    assert state.status is JobStatus.STOPPED
    assert state.billable_seconds == 600 + StartupModel().stop_seconds
    assert state.metrics == {}  # a function's metrics come at the end of training


# -- problems from tables and checkpoints ------------------------------------------------------
TABLE_ROWS = [
    {"lr": lr, "opt": opt, "epochs": e, METRIC: acc, "seconds": 10.0 * e}
    for lr, opt, e, acc in [
        (0.001, "sgd", 1, 0.5),
        (0.001, "sgd", 2, 0.6),
        (0.1, "sgd", 1, 0.7),
        (0.1, "sgd", 2, 0.9),
        (0.001, "adam", 1, 0.55),
        (0.001, "adam", 2, 0.65),
        (0.1, "adam", 1, 0.75),
        (0.1, "adam", 2, 0.95),
    ]
]


def table_problem(**options: Any) -> TableProblem:
    return TableProblem(
        TABLE_ROWS,
        parameters=["lr", "opt", "epochs"],
        metrics=[METRIC],
        log_scale={"lr"},
        **options,
    )


def test_a_table_problem_interpolates_between_runs_on_their_scale() -> None:
    problem = table_problem()
    assert problem.evaluate({"lr": 0.1, "opt": "adam", "epochs": 2}) == ({METRIC: 0.95}, 20.0)
    middle, seconds = problem.evaluate({"lr": 0.01, "opt": "sgd", "epochs": 2})  # halfway in log
    assert middle[METRIC] == pytest.approx(0.75) and seconds == pytest.approx(20.0)
    clamped, _ = problem.evaluate({"lr": 10.0, "opt": "sgd", "epochs": 9})
    assert clamped[METRIC] == pytest.approx(0.9)
    assert problem.best(METRIC) == 0.95
    with pytest.raises(UserError, match="full grid"):
        TableProblem(TABLE_ROWS[:-1], parameters=["lr", "opt", "epochs"], metrics=[METRIC])


def test_a_table_problem_fails_jobs_it_cannot_look_up_and_logs_its_learning_curve() -> None:
    sim = Simulator(table_problem(curve="epochs"), seed=0)
    sim.open("table", template())
    good = sim.submit(LaunchRequest(0, {"lr": "0.1", "opt": "adam", "epochs": "2"}))
    bad = sim.submit(LaunchRequest(1, {"lr": "0.1", "opt": "rmsprop", "epochs": "2"}))
    sim.clock.sleep(3600)
    done, failed = sim.poll([good, bad])
    assert done.metrics == {METRIC: 0.95}
    assert failed.status is JobStatus.FAILED and "rmsprop" in (failed.failure_reason or "")
    curve = sim.read_curves(good)[METRIC]
    assert [v for _, v in curve] == [0.75, 0.95]
    assert curve[1][0] - curve[0][0] == pytest.approx(10.0)


class Counting:
    """A script that trains one epoch more than its checkpoint says, and saves the count."""

    def run(self, job: JobContext) -> Outcome:
        reached = job.checkpoint["epochs"] if job.checkpoint else 0
        return Outcome(60.0, {METRIC: reached + 1}, checkpoint={"epochs": reached + 1})


def test_a_job_started_from_a_copied_checkpoint_continues_its_parent() -> None:
    sim = Simulator(Counting(), seed=0)
    sim.open("pbt", template(checkpoint_s3_uri="s3://my-bucket/checkpoints"))
    hp = {"learning_rate": "0.01", "num_epoch": "3"}
    parent = sim.submit(LaunchRequest(0, hp))
    sim.clock.sleep(3600)
    assert sim.poll([parent])[0].metrics == {METRIC: 1.0}
    copy = sim.copy_checkpoint(parent, sim.job_name(1))
    child = sim.submit(LaunchRequest(1, hp, checkpoint_s3_uri=copy.target_uri))
    fresh = sim.submit(LaunchRequest(2, hp))
    sim.clock.sleep(3600)
    assert [s.metrics[METRIC] for s in sim.poll([child, fresh])] == [2.0, 1.0]
    assert sim.checkpoint(copy.target_uri) == {"epochs": 2}


def test_a_user_estimates_a_study_before_paying_for_it() -> None:
    sim = Simulator(
        accuracy, duration=lambda hp: 90.0 * hp["num_epoch"], duration_sigma=0.3, seed=0
    )
    job = template(instance_type="ml.g5.xlarge")
    result = study(sim, job=job, max_jobs=24, max_parallel_jobs=4)
    usage = sim.usage()
    assert usage.cost == pytest.approx(result.total_cost, rel=0.01)
    assert 0 < usage.wall_seconds < usage.occupied_seconds / 2  # four jobs at a time
