"""Early stopping: what each rule saves in billed seconds, and what it costs in search quality.

Runs the same study (random search, ``max_jobs`` jobs, ``max_parallel_jobs``
at once, asynchronous) in the simulator with no rule, ``median``, ``asha``
(stopping form), ``asha-promote`` (ASHA's promotion form: jobs paused at a
rung continue from their checkpoint when they qualify; promotions do not
count against ``max_jobs``, so every rule sees the same configurations) and
``hyperband``, over 10+ seeds, on two learning-curve problems:

- **digits-mlp**: the per-epoch validation accuracy of the digits MLP of
  ``entry_points/digits_mlp.py``, recorded from real training over a grid
  (``benchmarks/data/digits_mlp.csv``, see ``benchmarks/digits_table.py``)
  and interpolated between runs; 30 epochs, a job's training time that of
  the table times :data:`benchmarks.problems.DIGITS_DURATION_SCALE` (4-30
  minutes), with log-normal noise;
- **crossing**: a synthetic problem where the configurations that end best
  learn slowest (their curves cross the others' late), the case where
  stopping on early epochs is most likely to cut the eventual winner.

Each simulated job reports its curve through ``byohpo.Simulator(curve,
epochs=..., duration=...)``; the study reads running jobs' logs at most every
``read_interval`` seconds (the default 60) as it would on SageMaker.

Per run: billed seconds (all jobs), best objective reached, regret (the
problem's best minus the best reached), billed seconds until the first job
within ``--regret`` of the best value any run reached ended (``inf`` if
never; the seconds billed by then for every job, running ones included),
jobs
stopped (paused, for the promotion form), promotions, and the log reads
(GetLogEvents) per job that early stopping added, beside the calls the same
reads would take from the CloudWatch metrics SageMaker publishes from metric
definitions (GetMetricData: one call reads up to 500 jobs' metric): one call
per poll cycle in which jobs were due as reads are timed now (each job's own
``read_interval``), and one call per ``read_interval`` for the whole study if
the reads were aligned (every running job read at once).
Prints medians and interquartile ranges per problem and rule, and the ratio
of each rule's median billed seconds to no rule's. Writes one CSV row per
run to ``benchmarks/results/early_stopping.csv``.

Usage, from the repository root (about a minute)::

    .venv/bin/python -m benchmarks.early_stopping [--seeds 10] [--jobs 64] [--regret 0.005]
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import byohpo
from benchmarks.problems import DIGITS_DURATION_SCALE, DIGITS_METRIC, digits_table
from byohpo.simulator import StartupModel
from byohpo.study._store import MemoryEventLog

RESULTS = Path(__file__).parent / "results"
EPOCHS = 30
RULES: dict[str, tuple[str | None, dict[str, Any]]] = {
    "none": (None, {}),
    "median": ("median", {}),
    "asha": ("asha", {"grace_period": 1, "reduction_factor": 3}),
    "asha-promote": ("asha", {"grace_period": 1, "reduction_factor": 3, "promote": True}),
    "hyperband": ("hyperband", {"grace_period": 1, "reduction_factor": 3}),
}
ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
READ_INTERVAL = 60.0
"""The study's default seconds between two reads of a running job's curve."""
METRIC_QUERIES_PER_CALL = 500
"""CloudWatch GetMetricData's limit of metric queries per call (one per job and metric)."""


@dataclass(frozen=True)
class CurveBenchmark:
    """A learning-curve problem: its space, curve, duration and best reachable value."""

    name: str
    space: byohpo.SearchSpace
    curve: Callable[[Mapping[str, Any], int], Mapping[str, float]]
    duration: Callable[[Mapping[str, Any]], float]
    best: float


def _digits() -> CurveBenchmark:
    table = digits_table()
    space = byohpo.SearchSpace(
        {
            "learning_rate": byohpo.Continuous(1e-4, 0.3, scaling="log"),
            "optimizer": byohpo.Categorical(["sgd", "adam"]),
            "hidden_units": byohpo.Integer(16, 256, scaling="log"),
            "batch_size": byohpo.Integer(32, 128, scaling="log"),
            "num_epoch": byohpo.Static(EPOCHS),
        }
    )

    def curve(hp: Mapping[str, Any], epoch: int) -> dict[str, float]:
        return {DIGITS_METRIC: table.evaluate({**hp, "num_epoch": epoch})[0][DIGITS_METRIC]}

    def duration(hp: Mapping[str, Any]) -> float:
        return table.evaluate({**hp, "num_epoch": EPOCHS})[1] * DIGITS_DURATION_SCALE

    return CurveBenchmark("digits-mlp", space, curve, duration, table.best(DIGITS_METRIC))


def _crossing() -> CurveBenchmark:
    space = byohpo.SearchSpace(
        {
            "x": byohpo.Continuous(0.0, 1.0),
            "y": byohpo.Continuous(0.0, 1.0),
            "num_epoch": byohpo.Static(EPOCHS),
        }
    )

    def ceiling(hp: Mapping[str, Any]) -> float:
        return 0.95 - 0.5 * ((hp["x"] - 0.7) ** 2 + (hp["y"] - 0.3) ** 2)

    def curve(hp: Mapping[str, Any], epoch: int) -> dict[str, float]:
        # The better the ceiling, the slower the climb: the time constant grows with it.
        tau = 1.0 + 12.0 * max(0.0, ceiling(hp) - 0.6) / 0.35
        return {DIGITS_METRIC: ceiling(hp) * (1.0 - math.exp(-epoch / tau))}

    def duration(hp: Mapping[str, Any]) -> float:
        return 900.0

    return CurveBenchmark("crossing", space, curve, duration, 0.95)


def run_one(
    problem: CurveBenchmark, rule: str, seed: int, jobs: int, parallel: int, regret: float
) -> dict[str, Any]:
    name, options = RULES[rule]
    sim = byohpo.Simulator(
        problem.curve,
        epochs=EPOCHS,
        duration=problem.duration,
        duration_sigma=0.3,
        startup=StartupModel(),
        seed=seed,
    )
    reads: dict[float, int] = {}  # read cycle (virtual time) -> jobs read then
    read_curves = sim.read_curves

    def counted(job_name: str) -> Mapping[str, list[tuple[float, float]]]:
        now = sim.clock.now()
        reads[now] = reads.get(now, 0) + 1
        return read_curves(job_name)

    sim.read_curves = counted  # type: ignore[method-assign]  # measures, changes nothing
    job = byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role=ROLE,
        instance_type="ml.m5.xlarge",
        output_path="s3://my-bucket/studies",
        metric_definitions={DIGITS_METRIC: r"Validation-accuracy=([0-9\.]+)"},
        checkpoint_s3_uri="s3://my-bucket/checkpoints" if options.get("promote") else None,
    )
    result = byohpo.Tuner(
        job,
        problem.space,
        strategy="random",
        objective=DIGITS_METRIC,
        max_jobs=jobs,
        max_parallel_jobs=parallel,
        mode="async",
        seed=seed,
        backend=sim,
        study_name=f"es-{problem.name}-{rule}-{seed}",
        store=MemoryEventLog(),
        progress=False,
        early_stopping=name,
        early_stopping_options=options or None,
    ).run()
    table = result.table().sort_values("end_time")
    completed = table["status"] == "Completed"
    best = float(table.loc[completed, "objective"].max())
    start = (table["start_time"] - table["start_time"].min()).dt.total_seconds()
    end = (table["end_time"] - table["start_time"].min()).dt.total_seconds()
    jobs_time = list(zip(start, end, table["billable_seconds"], strict=True))

    def billed_by(moment: float) -> float:
        """Seconds billed by ``moment``, running jobs included (each up to its own billing)."""
        return sum(min(b, max(0.0, min(moment, e) - s)) for s, e, b in jobs_time)

    trajectory = [
        (billed_by(float(e)), float(v))
        for e, v, done in zip(end, table["objective"], completed, strict=True)
        if done
    ]
    return {
        "problem": problem.name,
        "rule": rule,
        "seed": seed,
        "jobs": len(table),
        "configurations": int(table["parent_id"].isna().sum()),
        "stopped": int(table["stopped_by"].notna().sum()),
        "promotions": int(table["parent_id"].notna().sum()),
        "billed_seconds": float(table["billable_seconds"].sum()),
        "best": best,
        "regret": problem.best - best,
        "billed_seconds_to_regret": math.nan,  # set once every run's best is known
        "log_reads_per_job": sim.api_calls["GetLogEvents"] / len(table),
        "metric_reads_per_job": sum(math.ceil(n / METRIC_QUERIES_PER_CALL) for n in reads.values())
        / len(table),
        # one call per interval for every running job (at most max_parallel_jobs <= 500)
        "aligned_metric_reads_per_job": math.ceil(float(end.max()) / READ_INTERVAL) / len(table)
        if name is not None
        else 0.0,
        "api_calls_per_job": sum(sim.api_calls.values()) / len(table),
        "trajectory": trajectory,
    }


def time_to_regret(rows: list[dict[str, Any]], regret: float) -> None:
    """Billed seconds until a completed job came within ``regret`` of the best value any run
    of the problem reached (the problem's optimum may be out of reach of a 64-job budget)."""
    for problem in {r["problem"] for r in rows}:
        runs = [r for r in rows if r["problem"] == problem]
        target = max(r["best"] for r in runs) - regret
        for r in runs:
            hits = [billed for billed, value in r.pop("trajectory") if value >= target]
            r["billed_seconds_to_regret"] = hits[0] if hits else math.inf


def _quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    finite = sorted(values)
    if len(finite) < 2:
        v = finite[0] if finite else math.nan
        return v, v, v
    q1, q2, q3 = statistics.quantiles(finite, n=4, method="inclusive")
    return q1, q2, q3


def summarize(rows: list[dict[str, Any]], regret: float) -> list[str]:
    lines = []
    for problem in dict.fromkeys(r["problem"] for r in rows):
        base = [r for r in rows if r["problem"] == problem and r["rule"] == "none"]
        base_billed = statistics.median(r["billed_seconds"] for r in base)
        base_calls = statistics.median(r["api_calls_per_job"] for r in base)
        lines.append(f"{problem}: median [IQR] over {len(base)} seeds")
        for rule in RULES:
            runs = [r for r in rows if r["problem"] == problem and r["rule"] == rule]
            if not runs:
                continue
            b1, b2, b3 = _quartiles([r["billed_seconds"] for r in runs])
            g1, g2, g3 = _quartiles([r["best"] for r in runs])
            t1, t2, t3 = _quartiles([r["billed_seconds_to_regret"] for r in runs])
            reached = sum(math.isfinite(r["billed_seconds_to_regret"]) for r in runs)
            stopped = statistics.median(r["stopped"] for r in runs)
            reads = statistics.median(r["log_reads_per_job"] for r in runs)
            metric_reads = statistics.median(r["metric_reads_per_job"] for r in runs)
            aligned = statistics.median(r["aligned_metric_reads_per_job"] for r in runs)
            promotions = statistics.median(r["promotions"] for r in runs)
            calls = statistics.median(r["api_calls_per_job"] for r in runs)
            lines.append(
                f"  {rule:12s} billed {b2 / 3600:6.2f} h [{b1 / 3600:.2f}-{b3 / 3600:.2f}] "
                f"({b2 / base_billed:4.0%} of none)  best {g2:.4f} [{g1:.4f}-{g3:.4f}]  "
                f"to regret {regret}: {t2 / 3600:.2f} h [{t1 / 3600:.2f}-{t3 / 3600:.2f}] "
                f"({reached}/{len(runs)} reached)  stopped {stopped:.0f}  promoted "
                f"{promotions:.0f}  log reads/job {reads:.1f} (as metrics {metric_reads:.2f}, "
                f"aligned {aligned:.2f})  "
                f"calls/job {calls:.1f} ({calls - base_calls:+.1f})"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=64)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--regret", type=float, default=0.005)
    args = parser.parse_args(argv)
    rows = [
        run_one(problem, rule, seed, args.jobs, args.parallel, args.regret)
        for problem in (_digits(), _crossing())
        for rule in RULES
        for seed in range(args.seeds)
    ]
    time_to_regret(rows, args.regret)
    RESULTS.mkdir(exist_ok=True)
    with (RESULTS / "early_stopping.csv").open("w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print("\n".join(summarize(rows, args.regret)))


if __name__ == "__main__":
    main()
