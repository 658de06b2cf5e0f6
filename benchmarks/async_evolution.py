"""Asynchronous evolution and islands against generational evolution: slots kept busy, regret.

Each study runs through the Tuner on the simulator (virtual time, cold starts
of about two minutes) with 8 jobs in parallel and a budget of 100 paid jobs,
over 10 seeds, on the eight single-objective problems of
:mod:`benchmarks.model_quality`. Job times are log-normal (sigma 0.5) around
each problem's median (:data:`benchmarks.problems.DURATIONS`, which grow with
the hyperparameters that make training longer; 20 minutes for the problems
without one). Each population strategy (``ga``, ``dea``, ``eda``, ``es``) runs
in three forms, with its default options:

- ``generational``: ``mode="generational"``, a generation waits for its slowest job;
- ``async``: ``mode="async"``, one child bred from the best results told so far
  whenever a slot frees;
- ``islands``: ``mode="async"`` with ``islands=4`` (ring migration of the best
  member every island population's worth of results); ``islands-K`` with K islands.

Measured per study:

- **slot use**: job-seconds (creation to end) over 8 slots times the study's
  wall-clock, over the whole study and over its steady state (until the last
  job is created: the final drain is the same for any scheduler);
- **regret per paid job**: normalized regret (0 the optimum, 1 a typical
  random configuration) of the best result among the first 50 and the first
  100 jobs paid, in the order they were created;
- simulated wall hours to the 100 jobs.

Writes ``benchmarks/results/async_evolution.csv``; prints the Markdown tables of
``docs/benchmarks.md``.

    .venv/bin/python -m benchmarks.async_evolution [--seeds 10] [--jobs 100]
        [--strategies ga dea eda es] [--forms generational async islands islands-2]
        [--out results.csv]
    .venv/bin/python -m benchmarks.async_evolution --report part1.csv part2.csv
    .venv/bin/python -m benchmarks.async_evolution --sweep [--seeds 3]

``--sweep`` measures ``ga``'s slot use alone at 4, 20 and 100 jobs in parallel
(ten rounds of jobs of a median 20 minutes, log-normal), the sizes of the
orchestration benchmarks; it writes ``async_evolution_parallel.csv``.
``--wide`` measures it for the issue's own scenario, 2,000 jobs at 50 in
parallel, next to 100 jobs at 8 (jobs of a median 20 minutes, log-normal);
it writes ``async_evolution_wide.csv``.

    .venv/bin/python -m benchmarks.async_evolution --wide [--seeds 2]
"""

from __future__ import annotations

import argparse
import csv
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import byohpo
from benchmarks.functions import BenchmarkFunction
from benchmarks.model_quality import problems
from benchmarks.problems import DURATIONS, scale, simulated
from benchmarks.strategy_quality import RESULTS, quartiles
from benchmarks.time_to_result import steady_utilization
from byohpo.simulator import FunctionProblem, Problem, Simulator
from byohpo.study._store import MemoryEventLog

PARALLEL = 8
SIGMA = 0.5
DEFAULT_SECONDS = 1200.0
CHECKPOINTS = (50, 100)
SWEEP = (4, 20, 100)
WIDE = ((100, 8), (2000, 50))
"""The ``--wide`` scenarios: (paid jobs, jobs in parallel)."""
STRATEGIES = ("ga", "dea", "eda", "es")
FORMS = ("generational", "async", "islands")


def form_of(name: str) -> tuple[str, dict[str, Any]]:
    """The tuner's mode and the strategy options of a form (``islands-2``: two islands)."""
    if name.startswith("islands"):
        return "async", {"islands": int(name.partition("-")[2] or 4)}
    return name, {}


def problem_of(function: BenchmarkFunction, fixed_median: bool = False) -> tuple[Problem, str]:
    """The function as simulated jobs of log-normal length, and the metric they report."""
    if not fixed_median and (function.name in DURATIONS or function.name == "digits-mlp"):
        jobs = simulated(function, duration_sigma=SIGMA)
        return jobs.problem, jobs.metric
    problem = FunctionProblem(
        lambda hp: {"objective": function.objective(dict(hp))},
        duration=DEFAULT_SECONDS,
        duration_sigma=SIGMA,
    )
    return problem, "objective"


def template(metric: str) -> byohpo.TrainingJob:
    return byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://bucket/studies",
        metric_definitions={metric: rf"{metric}=([-0-9\.e]+)"},
    )


def study(
    strategy: str,
    form: str,
    function: BenchmarkFunction,
    seed: int,
    jobs: int,
    parallel: int = PARALLEL,
    fixed_median: bool = False,
) -> dict[str, Any]:
    """One study; its slot use, regret at the checkpoints and simulated hours.

    ``fixed_median``: jobs of a median 20 minutes whatever their hyperparameters.
    """
    mode, options = form_of(form)
    problem, metric = problem_of(function, fixed_median)
    sim = Simulator(problem, seed=seed)
    byohpo.Tuner(
        template(metric),
        function.space,
        strategy=strategy,
        strategy_options=options,
        objective=metric,
        direction=function.direction,
        max_jobs=jobs,
        max_parallel_jobs=parallel,
        mode=mode,
        backend=sim,
        store=MemoryEventLog(),
        study_name=f"{strategy}-{form}-{seed}",
        seed=seed,
        progress=False,
    ).run()
    done = sorted(sim.jobs(), key=lambda j: j.created)
    usage = sim.usage()
    sign = 1.0 if function.direction == "minimize" else -1.0
    row: dict[str, Any] = {
        "strategy": strategy,
        "form": form,
        "function": function.name,
        "seed": seed,
        "parallel": parallel,
        "slot_use": usage.slot_utilization(parallel),
        "steady_slot_use": steady_utilization(done, parallel),
        "wall_hours": usage.wall_seconds / 3600,
    }
    best = math.inf
    for paid, job in enumerate(done, start=1):
        value = job.final_metrics().get(metric)
        if value is not None and math.isfinite(value):
            best = min(best, sign * value)
        if paid in CHECKPOINTS:
            regret = function.regret(sign * best) if math.isfinite(best) else math.inf
            row[f"regret_{paid}"] = scale(function).normalized(regret)
    return row


def sweep(seeds: int, out: Path) -> list[dict[str, Any]]:
    """``ga``'s slot use at 4, 20 and 100 in parallel: ten rounds of 20-minute jobs."""
    function = problems()[0]
    rows = []
    for parallel in SWEEP:
        for seed in range(seeds):
            for form in FORMS:
                rows.append(
                    study("ga", form, function, seed, 10 * parallel, parallel, fixed_median=True)
                )
                write_csv(rows, out)  # a partial run keeps what it measured
    return rows


def wide(seeds: int, out: Path) -> list[dict[str, Any]]:
    """``ga``'s slot use in the :data:`WIDE` scenarios, jobs of a median 20 minutes."""
    function = problems()[0]
    rows = []
    for jobs, parallel in WIDE:
        for seed in range(seeds):
            for form in FORMS:
                row = study("ga", form, function, seed, jobs, parallel, fixed_median=True)
                rows.append({**row, "jobs": jobs})
                write_csv(rows, out)  # a partial run keeps what it measured
    return rows


def wide_report(rows: list[dict[str, Any]]) -> str:
    lines = [
        "`ga`'s slot use, whole study / until the last job is created (log-normal jobs "
        "around 20 minutes, median over seeds), and simulated hours:",
        "",
        "| form | " + " | ".join(f"{j:,} jobs, {p} in parallel" for j, p in WIDE) + " |",
        "|---|" + "---:|" * len(WIDE),
    ]
    for form in FORMS:
        cells = []
        for jobs, parallel in WIDE:
            match = {"form": form, "jobs": jobs, "parallel": parallel}
            whole = _values(rows, "slot_use", **match)
            steady = _values(rows, "steady_slot_use", **match)
            hours = _values(rows, "wall_hours", **match)
            cells.append(
                f"{statistics.median(whole):.1%} / {statistics.median(steady):.1%}, "
                f"{statistics.median(hours):.1f} h"
                if whole
                else "-"
            )
        lines.append(f"| {form} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sweep_report(rows: list[dict[str, Any]]) -> str:
    lines = [
        "`ga`'s slot use by parallel jobs (10 rounds of log-normal jobs around 20 minutes, "
        "median over seeds; whole study / steady state):",
        "",
        "| form | " + " | ".join(f"{p} in parallel" for p in SWEEP) + " |",
        "|---|" + "---:|" * len(SWEEP),
    ]
    for form in FORMS:
        cells = []
        for parallel in SWEEP:
            whole = _values(rows, "slot_use", form=form, parallel=parallel)
            steady = _values(rows, "steady_slot_use", form=form, parallel=parallel)
            cells.append(
                f"{statistics.median(whole):.1%} / {statistics.median(steady):.1%}"
                if whole
                else "-"
            )
        lines.append(f"| {form} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(dict.fromkeys(k for r in rows for k in r)))
        writer.writeheader()
        writer.writerows(rows)


def read_csv(paths: Sequence[Path]) -> list[dict[str, Any]]:
    rows = []
    for path in paths:
        with path.open() as handle:
            rows += [
                {
                    k: (v if k in ("strategy", "form", "function") else float(v or "nan"))
                    for k, v in r.items()
                }
                for r in csv.DictReader(handle)
            ]
    return rows


def _values(rows: Sequence[dict[str, Any]], key: str, **match: Any) -> list[float]:
    return [r[key] for r in rows if all(r[k] == v for k, v in match.items())]


def report(rows: list[dict[str, Any]]) -> str:
    """Markdown: slot use and hours per form; regret per form and its ratio to generational."""
    strategies = list(dict.fromkeys(r["strategy"] for r in rows))
    functions = list(dict.fromkeys(r["function"] for r in rows))
    forms = list(dict.fromkeys(r["form"] for r in rows))
    lines = [
        f"Slot use ({PARALLEL} in parallel, median [IQR] over problems and seeds), "
        "and simulated hours to the last job:",
        "",
        "| strategy | form | slot use | steady state | hours |",
        "|---|---|---:|---:|---:|",
    ]
    for strategy in strategies:
        for form in forms:
            use = _values(rows, "slot_use", strategy=strategy, form=form)
            if not use:
                continue
            q1, median, q3 = quartiles(use)
            steady = statistics.median(
                _values(rows, "steady_slot_use", strategy=strategy, form=form)
            )
            hours = statistics.median(_values(rows, "wall_hours", strategy=strategy, form=form))
            lines.append(
                f"| {strategy} | {form} | {median:.1%} [{q1:.1%}, {q3:.1%}] "
                f"| {steady:.1%} | {hours:.1f} |"
            )
    lines += [
        "",
        "Normalized regret after 50 and 100 paid jobs: the mean over problems of each "
        "problem's median over seeds (lower is better), and in brackets the form's "
        "mean over problems over the generational form's (below 1: better), then on how "
        "many problems its median is no worse than the generational form's:",
        "",
        "| strategy | form | " + " | ".join(f"regret @{c}" for c in CHECKPOINTS) + " |",
        "|---|---|" + "---:|" * len(CHECKPOINTS),
    ]
    for strategy in strategies:
        for form in forms:
            cells = []
            for c in CHECKPOINTS:
                medians = [
                    statistics.median(
                        _values(rows, f"regret_{c}", strategy=s, form=form, function=f)
                    )
                    for s, f in ((strategy, f) for f in functions)
                    if _values(rows, f"regret_{c}", strategy=s, form=form, function=f)
                ]
                base = [
                    statistics.median(
                        _values(
                            rows, f"regret_{c}", strategy=strategy, form="generational", function=f
                        )
                    )
                    for f in functions
                ]
                if not medians:
                    cells.append("-")
                    continue
                mean = statistics.fmean(medians)
                ratio = mean / statistics.fmean(base) if statistics.fmean(base) > 0 else math.nan
                level = sum(m <= b for m, b in zip(medians, base, strict=True))
                cells.append(f"{mean:.3f} ({ratio:.2f}; {level}/{len(base)})")
            lines.append(f"| {strategy} | {form} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    parser.add_argument(
        "--forms", nargs="*", default=list(FORMS), help="also islands-K for K islands"
    )
    parser.add_argument("--out", type=Path, default=RESULTS / "async_evolution.csv")
    parser.add_argument(
        "--report", type=Path, nargs="+", help="print the tables of CSV files already written"
    )
    parser.add_argument(
        "--sweep", action="store_true", help="slot use at 4, 20 and 100 in parallel instead"
    )
    parser.add_argument(
        "--wide", action="store_true", help="slot use of 2,000 jobs at 50 in parallel instead"
    )
    args = parser.parse_args()
    if args.report is not None:
        rows = read_csv(args.report)
        print(
            sweep_report(rows) if args.sweep else wide_report(rows) if args.wide else report(rows)
        )
        return
    if args.wide:
        print(wide_report(wide(args.seeds, args.out.with_name("async_evolution_wide.csv"))))
        return
    if args.sweep:
        print(sweep_report(sweep(args.seeds, args.out.with_name("async_evolution_parallel.csv"))))
        return
    rows = []
    for strategy in args.strategies:
        for function in problems():
            for form in args.forms:
                for seed in range(args.seeds):
                    rows.append(study(strategy, form, function, seed, args.jobs))
            write_csv(rows, args.out)  # a partial run keeps what it measured
    print(report(rows))


if __name__ == "__main__":
    main()
