"""Time to result: how full the slots stay and how soon a target is reached, by mode and market.

Each study runs through the Tuner on the simulator (virtual time; SageMaker's
start-up of about two minutes cold, 20 seconds from a warm pool) with 8 jobs
in parallel and a budget of 200 jobs, over 10 seeds, on two problems:

- **digits-mlp**: random search over the digits MLP of real runs; durations
  are the measured ones (more epochs, more units, smaller batches: longer),
  scaled to minutes, times log-normal noise (sigma 0.5); target: a validation
  accuracy of :data:`TARGET` (7% of random configurations reach it).
- **lognormal**: jobs of a median 20 minutes, log-normal (sigma 0.5), the
  clean case of the utilization claim.

Each study runs ``generational`` (a batch of 8 is launched, the next when all
8 have ended) and ``async`` (a slot is refilled as soon as its job ends), each
with cold starts, with a warm pool (``keep_alive_seconds=300``), and on
managed spot (70% cheaper, 0.2 interruptions an hour, capacity waits of about
30 seconds, checkpoints every 5 minutes; SageMaker keeps no warm pool for
spot jobs).

Measured per study:

- **slot utilization**: job-seconds (creation to end) over 8 slots times the
  study's wall-clock; 100% is the physical limit. Reported over the whole
  study and over its steady state (until the last job is launched: the final
  drain, when no job is left to launch, is the same for any scheduler);
- **training share**: training instance-seconds over paid ones (billed
  phases and warm-pool time, undiscounted);
- wall-clock hours, dollars (ml.m5.large), hours to the target, API calls a job.

Writes ``benchmarks/results/time_to_result.csv`` and ``time_to_result.png``.

    .venv/bin/python -m benchmarks.time_to_result [--seeds 10] [--jobs 200]
"""

from __future__ import annotations

import argparse
import itertools
import math
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import byohpo
from benchmarks.problems import DIGITS_METRIC, DIGITS_SPACE, digits_table
from benchmarks.strategy_quality import RESULTS, quartiles, write_csv
from byohpo.simulator import FunctionProblem, Problem, SimulatedJob, Simulator, SpotMarket
from byohpo.study._store import MemoryEventLog

PARALLEL = 8
TARGET = 0.97
SIGMA = 0.5
KEEP_ALIVE = 300
SPOT = SpotMarket(interruptions_per_hour=0.2, checkpoint_every=300)
MODES = ("generational", "async")
SETUPS = (("cold", "on-demand"), ("warm", "on-demand"), ("cold", "spot"))
"""Start and market: SageMaker keeps no warm pool for spot jobs."""
LOGNORMAL_SPACE = byohpo.SearchSpace({"x": byohpo.Continuous(0.0, 1.0)})


def problem(name: str) -> tuple[Problem, byohpo.SearchSpace]:
    if name == "digits-mlp":
        return digits_table(SIGMA), DIGITS_SPACE
    metrics = FunctionProblem(
        lambda hp: {DIGITS_METRIC: float(hp["x"])}, duration=1200.0, duration_sigma=SIGMA
    )
    return metrics, LOGNORMAL_SPACE


def template(start: str, market: str) -> byohpo.TrainingJob:
    spot: dict[str, Any] = {}
    if market == "spot":
        spot = {
            "use_spot": True,
            "max_runtime_seconds": 4 * 3600,
            "max_wait_seconds": 8 * 3600,
            "checkpoint_s3_uri": "s3://my-bucket/checkpoints",
        }
    return byohpo.TrainingJob(
        entry_point="digits_mlp.py",
        source_dir=str(Path(__file__).resolve().parent.parent / "entry_points"),
        image_uri="683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_type="ml.m5.large",
        output_path="s3://my-bucket/byohpo",
        keep_alive_seconds=KEEP_ALIVE if start == "warm" else 0,
        metric_definitions={DIGITS_METRIC: r"Validation-accuracy=([0-9\.]+)"},
        **spot,
    )


def steady_utilization(jobs: Sequence[SimulatedJob], slots: int) -> float:
    """Slot utilization from the first job's creation to the last job's creation."""
    start = min(j.created for j in jobs)
    stop = max(j.created for j in jobs)
    occupied = sum(max(0.0, min(j.end, stop) - j.created) for j in jobs if j.created < stop)
    return occupied / (slots * (stop - start)) if stop > start else math.nan


def hours_to_target(jobs: Sequence[SimulatedJob], target: float) -> float:
    """Hours from the study's start until a completed job reached ``target`` (inf: never)."""
    start = min(j.created for j in jobs)
    reached = [
        j.end
        for j in jobs
        if j.final_metrics().get(DIGITS_METRIC, -math.inf) >= target
        and j.status.value == "Completed"
    ]
    return (min(reached) - start) / 3600 if reached else math.inf


def study(name: str, mode: str, start: str, market: str, seed: int, jobs: int) -> dict[str, Any]:
    simulated, space = problem(name)
    sim = Simulator(simulated, seed=seed, spot=SPOT)
    byohpo.Tuner(
        template(start, market),
        space,
        strategy="random",
        objective=DIGITS_METRIC,
        max_jobs=jobs,
        max_parallel_jobs=PARALLEL,
        mode=mode,
        backend=sim,
        store=MemoryEventLog(),
        study_name=f"{name}-{mode}-{start}-{market}-{seed}",
        seed=seed,
        progress=False,
    ).run()
    usage = sim.usage()
    done = sim.jobs()
    return {
        "problem": name,
        "mode": mode,
        "start": start,
        "market": market,
        "seed": seed,
        "utilization": usage.slot_utilization(PARALLEL),
        "steady_utilization": steady_utilization(done, PARALLEL),
        "training_share": usage.training_share,
        "wall_hours": usage.wall_seconds / 3600,
        "cost": usage.cost,
        "hours_to_target": hours_to_target(done, TARGET) if name == "digits-mlp" else math.nan,
        "interruptions": usage.interruptions,
        "calls_per_job": sum(sim.api_calls.values()) / len(done),
    }


def _median(rows: list[dict[str, Any]], key: str, **match: str) -> float:
    values = [r[key] for r in rows if all(r[k] == v for k, v in match.items())]
    return statistics.median(values)


def table(rows: list[dict[str, Any]], name: str) -> str:
    lines = [
        "| mode | start | market | slot utilization | steady-state | training share "
        "| wall h | $ | h to target | calls / job |",
        "|---|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for mode, (start, market) in itertools.product(MODES, SETUPS):
        match = {"problem": name, "mode": mode, "start": start, "market": market}
        runs = [r for r in rows if all(r[k] == v for k, v in match.items())]
        q1, median, q3 = quartiles([r["utilization"] for r in runs])
        target = _median(rows, "hours_to_target", **match)
        lines.append(
            f"| {mode} | {start} | {market} | {median:.1%} [{q1:.1%}, {q3:.1%}] "
            f"| {_median(rows, 'steady_utilization', **match):.1%} "
            f"| {_median(rows, 'training_share', **match):.1%} "
            f"| {_median(rows, 'wall_hours', **match):.1f} "
            f"| {_median(rows, 'cost', **match):.2f} "
            f"| {'-' if math.isnan(target) else f'{target:.2f}'} "
            f"| {_median(rows, 'calls_per_job', **match):.1f} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    labels, whole, steady = [], [], []
    for mode, (start, market) in itertools.product(MODES, SETUPS):
        match: Mapping[str, str] = {
            "problem": "digits-mlp",
            "mode": mode,
            "start": start,
            "market": market,
        }
        labels.append(f"{mode}\n{start}\n{market}")
        whole.append(_median(rows, "utilization", **match))
        steady.append(_median(rows, "steady_utilization", **match))
    x = range(len(labels))
    axes[0].bar([i - 0.2 for i in x], whole, width=0.4, label="whole study")
    axes[0].bar([i + 0.2 for i in x], steady, width=0.4, label="steady state")
    axes[0].axhline(1.0, color="black", linewidth=0.8)
    axes[0].set_xticks(list(x), labels, fontsize=7)
    axes[0].set_ylabel("slot utilization (median of seeds)")
    axes[0].set_title("digits-mlp: slot utilization, 8 slots, 200 jobs")
    axes[0].legend()
    for mode in MODES:
        for start in ("cold", "warm"):
            runs = [
                r
                for r in rows
                if r["problem"] == "digits-mlp"
                and r["mode"] == mode
                and r["start"] == start
                and r["market"] == "on-demand"
            ]
            axes[1].scatter(
                [r["wall_hours"] for r in runs],
                [r["hours_to_target"] for r in runs],
                label=f"{mode}, {start}",
                marker="o" if mode == "async" else "s",
            )
    axes[1].set_xlabel("wall-clock hours of the 200-job study")
    axes[1].set_ylabel(f"hours to validation accuracy {TARGET}")
    axes[1].set_title("digits-mlp, on-demand: each point one seed")
    axes[1].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=200)
    options = parser.parse_args()
    started = time.perf_counter()
    rows = [
        study(name, mode, start, market, seed, options.jobs)
        for name in ("digits-mlp", "lognormal")
        for mode, (start, market) in itertools.product(MODES, SETUPS)
        for seed in range(options.seeds)
    ]
    write_csv(rows, RESULTS / "time_to_result.csv")
    plot(rows, RESULTS / "time_to_result.png")
    for name in ("digits-mlp", "lognormal"):
        print(f"\n{name}: medians over {options.seeds} seeds (slot utilization: median [IQR])\n")
        print(table(rows, name))
    print(f"\n{len(rows)} studies, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
