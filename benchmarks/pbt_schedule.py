"""Population based training against fixed hyperparameters, where the best learning rate moves.

The problem (:class:`LearningRateSchedule`, a simulated training script that
checkpoints): each epoch removes a share of the loss that is largest when the
learning rate is near that epoch's best rate, 0.1 at the start and 0.75 times
the previous epoch's after each epoch (a decaying schedule, as for most deep
networks); a rate far above it undoes some training. Momentum matters
mildly (best near 0.9). Every model trains 20 epochs.

Methods, each on the same budget of N full trainings (N x 20 epochs):

- ``random``: N jobs of 20 epochs, learning rate and momentum drawn at random
  and fixed for the whole training;
- ``ga``: the genetic algorithm over the same fixed hyperparameters,
  population 8, N / 8 generations;
- ``pbt``: population based training, population N, 10 generations of 2
  epochs, in the generational form; ``pbt-async``: the asynchronous form, the
  same budget (max_jobs = 10 N).

All run as studies through the Tuner on the simulator (virtual time; 120
seconds a simulated epoch; SageMaker's start-up, about 2 minutes cold and 20
seconds from the warm pool every method's job template keeps for 10 minutes),
8 jobs at a time, 10 seeds. Printed per method and budget: the best validation
accuracy of the study (median and interquartile range over seeds), billed
instance-hours, dollars (ml.g5.xlarge, warm pools included) and wall-clock
hours (medians). The reference values are the
accuracy of the best schedule (each epoch at its best rate) and of the best
fixed rate.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.pbt_schedule [--seeds 10] [--budgets 16 32]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Mapping
from typing import Any

import byohpo
from byohpo.simulator import JobContext, Outcome, Simulator, StartupModel
from byohpo.study._store import MemoryEventLog

METRIC = "validation:accuracy"
EPOCHS = 20
STEP = 2
EPOCH_SECONDS = 120.0
PARALLEL = 8
GA_POPULATION = 8
METHODS = ("random", "ga", "pbt", "pbt-async")


def best_rate(epoch: int) -> float:
    """The learning rate that trains epoch ``epoch`` (1, 2, ...) best."""
    return 0.1 * 0.75 ** (epoch - 1)


def train_epoch(loss: float, epoch: int, learning_rate: float, momentum: float) -> float:
    """The loss after one more epoch at this learning rate and momentum."""
    distance = math.log10(learning_rate / best_rate(epoch))
    progress = 0.35 * math.exp(-(distance**2) / 0.3) * (1.0 - ((momentum - 0.9) / 0.5) ** 2)
    damage = 0.08 * max(0.0, distance - 0.3) ** 2
    return min(1.0, max(0.0, loss * (1.0 - progress) + damage * (1.0 - loss)))


class LearningRateSchedule:
    """A training script that resumes from its checkpoint: loss and epoch reached."""

    def run(self, job: JobContext) -> Outcome:
        hp = job.hyperparameters
        state = job.checkpoint if isinstance(job.checkpoint, Mapping) else {}
        epoch, loss = int(state.get("epoch", 0)), float(state.get("loss", 1.0))
        target = int(hp["num_epoch"])
        curve = []
        for step in range(epoch + 1, target + 1):
            loss = train_epoch(loss, step, float(hp["learning_rate"]), float(hp["momentum"]))
            accuracy = min(1.0, 0.1 + 0.9 * (1.0 - loss) + job.rng.gauss(0.0, 0.002))
            curve.append(((step - epoch) * EPOCH_SECONDS, round(accuracy, 6)))
        if not curve:  # nothing left to train: the checkpoint's accuracy again
            curve = [(0.0, round(0.1 + 0.9 * (1.0 - loss), 6))]
        seconds = (target - epoch) * EPOCH_SECONDS
        return Outcome(
            seconds, curves={METRIC: curve}, checkpoint={"epoch": max(epoch, target), "loss": loss}
        )


def reference() -> tuple[float, float]:
    """Accuracy of the best schedule and of the best fixed learning rate (momentum 0.9)."""

    def final(rates: list[float]) -> float:
        loss = 1.0
        for epoch, rate in enumerate(rates, start=1):
            loss = train_epoch(loss, epoch, rate, 0.9)
        return 0.1 + 0.9 * (1.0 - loss)

    schedule = final([best_rate(e) for e in range(1, EPOCHS + 1)])
    fixed = max(final([10 ** (-4 + 3 * i / 2000)] * EPOCHS) for i in range(2001))
    return schedule, fixed


def job_template() -> byohpo.TrainingJob:
    return byohpo.TrainingJob(
        entry_point="train.py",
        source_dir="s3://benchmarks/code/sourcedir.tar.gz",
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_type="ml.g5.xlarge",
        output_path="s3://benchmarks/output",
        checkpoint_s3_uri="s3://benchmarks/checkpoints",
        keep_alive_seconds=600,
        metric_definitions={METRIC: r"Validation-accuracy=([0-9\.]+)"},
    )


def space(method: str) -> byohpo.SearchSpace:
    epochs: Any = byohpo.Integer(1, EPOCHS) if method.startswith("pbt") else byohpo.Static(EPOCHS)
    return byohpo.SearchSpace(
        {
            "learning_rate": byohpo.Continuous(1e-4, 1.0, scaling="log"),
            "momentum": byohpo.Continuous(0.5, 0.99, scaling="reverse_log"),
            "num_epoch": epochs,
        }
    )


def study(method: str, budget: int, seed: int) -> dict[str, float]:
    """One study on the simulator: its best accuracy, billed hours, wall hours."""
    options: dict[str, Any] = {"max_jobs": budget, "mode": "generational"}
    if method == "ga":
        options["strategy_options"] = {"population_size": GA_POPULATION}
    if method.startswith("pbt"):
        options["strategy_options"] = {
            "population_size": budget,
            "generations": EPOCHS // STEP,
            "step_parameter": "num_epoch",
            "step_size": STEP,
        }
        options["max_jobs"] = budget * EPOCHS // STEP
        options["mode"] = "async" if method == "pbt-async" else "generational"
    simulator = Simulator(
        LearningRateSchedule(), seed=seed, startup=StartupModel(cold_seconds=120, warm_seconds=20)
    )
    result = byohpo.Tuner(
        job_template(),
        space(method),
        strategy=method.removesuffix("-async"),
        objective=METRIC,
        max_parallel_jobs=PARALLEL,
        backend=simulator,
        store=MemoryEventLog(),
        study_name=f"{method}-{budget}-{seed}",
        seed=seed,
        progress=False,
        **options,
    ).run()
    usage = simulator.usage()
    return {
        "best": float(result.best()["objective"]),
        "billed_hours": usage.billed_seconds / 3600,
        "cost": usage.cost or math.nan,
        "wall_hours": usage.wall_seconds / 3600,
        "jobs": float(result.jobs_launched),
    }


def quartiles(values: list[float]) -> tuple[float, float, float]:
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budgets", type=int, nargs="*", default=[16, 32])
    args = parser.parse_args()
    schedule, fixed = reference()
    print(f"best schedule: {schedule:.4f}; best fixed learning rate: {fixed:.4f}")
    print(
        "| full trainings | method | jobs | best accuracy, median [IQR] "
        "| billed instance-hours | cost $ | wall-clock hours |"
    )
    print("|---:|---|---:|---|---:|---:|---:|")
    started = time.perf_counter()
    for budget in args.budgets:
        for method in METHODS:
            runs = [study(method, budget, seed) for seed in range(args.seeds)]
            q1, median, q3 = quartiles([r["best"] for r in runs])
            billed = statistics.median(r["billed_hours"] for r in runs)
            wall = statistics.median(r["wall_hours"] for r in runs)
            cost = statistics.median(r["cost"] for r in runs)
            jobs = statistics.median(r["jobs"] for r in runs)
            print(
                f"| {budget} | {method} | {jobs:.0f} | {median:.4f} [{q1:.4f}, {q3:.4f}] "
                f"| {billed:.1f} | {cost:.2f} | {wall:.1f} |"
            )
    print(f"({time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
