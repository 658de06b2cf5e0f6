"""Warm start: what an earlier study's results are worth to the next study's strategy.

On each single-objective problem of :mod:`benchmarks.problems`, an *earlier*
study ran ``--earlier`` random configurations (its own seed). A new study of
``--budget`` jobs, in batches of 4 (a study with ``max_parallel_jobs=4``), then
runs each strategy twice with the same seed: cold, and warm-started with the
earlier study's completed trials (``Strategy.warm_start``, what
``Tuner(warm_start=[...])`` calls). Only the new study's own jobs count: the
earlier trials are not paid again, and the best value is that of the new jobs.

A second scenario, **changed space**, warm-starts from an earlier study whose
ranges were twice as wide on every continuous parameter: the trials outside
the new ranges are left out (``byohpo.study._warm_start.fit_to_space``), the
others are told.

Regret is normalized as in ``benchmarks/strategy_quality.py`` (0: the optimum,
1: a typical random configuration). Prints the median normalized regret after
10 and ``--budget`` new jobs, cold and warm, and their ratio; writes one CSV
row per run to ``benchmarks/results/warm_start.csv``.

Usage, from the repository root (about three minutes)::

    .venv/bin/python -m benchmarks.warm_start [--seeds 10] [--budget 20] [--earlier 30]
"""

from __future__ import annotations

import argparse
import csv
import random
import statistics
from pathlib import Path
from typing import Any

from benchmarks.functions import BenchmarkFunction
from benchmarks.problems import all_functions, scale
from byohpo.objectives import Objective
from byohpo.parameters import Continuous
from byohpo.space import Config, SearchSpace
from byohpo.strategies import PriorTrial, make_strategy
from byohpo.study._warm_start import fit_to_space

BATCH = 4
EARLY = 10
STRATEGIES = ("bo", "ga", "dea", "pso", "optuna:tpe")
RESULTS = Path(__file__).parent / "results"


def _wider(space: SearchSpace) -> SearchSpace:
    """The space with every continuous range twice as wide (where its scale allows)."""
    params = {}
    for name, p in space.items():
        if isinstance(p, Continuous) and p.scaling == "linear":
            half = (p.max - p.min) / 2
            p = Continuous(p.min - half, p.max + half)
        elif isinstance(p, Continuous) and p.scaling == "log":
            p = Continuous(p.min / 2, p.max * 2, scaling="log")
        params[name] = p
    return SearchSpace(params)


def _earlier(
    function: BenchmarkFunction, space: SearchSpace, count: int, seed: int
) -> list[PriorTrial]:
    """The earlier study's completed trials, fitted into the function's own space."""
    rng = random.Random(10_000 + seed)
    trials = []
    for _ in range(count):
        values = space.sample(rng)
        config = fit_to_space(values, function.space)
        if isinstance(config, str):
            continue  # outside the new ranges: left out, as a study leaves it out
        trials.append(PriorTrial(config, {"objective": function.objective(config)}))
    return trials


def _run(
    function: BenchmarkFunction,
    name: str,
    seed: int,
    budget: int,
    prior: list[PriorTrial] | None,
) -> list[float]:
    """The normalized regret of the best new job so far, after each new job."""
    strategy = make_strategy(name, seed=seed)
    strategy.setup(function.space, [Objective("objective", function.direction)])
    if prior is not None:
        strategy.warm_start(prior)
    norm = scale(function)
    best: float | None = None
    curve: list[float] = []
    while len(curve) < budget:
        batch: list[Config] = strategy.ask(min(BATCH, budget - len(curve)))
        for config in batch:
            value = function.objective(config)
            strategy.tell(config, {"objective": value})
            better = best is None or (
                value < best if function.direction == "minimize" else value > best
            )
            best = value if better else best
            assert best is not None
            curve.append(norm.normalized(function.regret(best)))
    return curve


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=20)
    parser.add_argument("--earlier", type=int, default=30)
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    rows: list[dict[str, Any]] = []
    for function in all_functions():
        for scenario, source_space in (
            ("same space", function.space),
            ("changed space", _wider(function.space)),
        ):
            for name in STRATEGIES:
                for seed in range(args.seeds):
                    prior = _earlier(function, source_space, args.earlier, seed)
                    for start, given in (("cold", None), ("warm", prior)):
                        if scenario == "changed space" and start == "cold":
                            continue  # the same cold run as the same-space scenario
                        curve = _run(function, name, seed, args.budget, given)
                        rows.append(
                            {
                                "problem": function.name,
                                "scenario": scenario,
                                "strategy": name,
                                "start": start,
                                "seed": seed,
                                "told": len(prior) if given is not None else 0,
                                f"regret_{EARLY}": curve[EARLY - 1],
                                f"regret_{args.budget}": curve[-1],
                            }
                        )
    with (RESULTS / "warm_start.csv").open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    _print(rows, args.budget)


def _median(rows: list[dict[str, Any]], key: str, **where: object) -> float:
    return statistics.median(r[key] for r in rows if all(r[k] == v for k, v in where.items()))


def _print(rows: list[dict[str, Any]], budget: int) -> None:
    print(
        f"median normalized regret of the new jobs' best (0 = optimum, 1 = typical random), "
        f"after {EARLY} and {budget} new jobs"
    )
    print(
        f"{'problem':16} {'strategy':11} {'cold@' + str(EARLY):>8} {'warm@' + str(EARLY):>8} "
        f"{'cold@' + str(budget):>8} {'warm@' + str(budget):>8} {'wide@' + str(budget):>8} "
        f"{'told(wide)':>10}"
    )
    for problem in dict.fromkeys(r["problem"] for r in rows):
        for name in STRATEGIES:
            same = {"problem": problem, "strategy": name}
            cells = [
                _median(rows, f"regret_{n}", **same, scenario="same space", start=s)
                for n in (EARLY, budget)
                for s in ("cold", "warm")
            ]
            wide = _median(rows, f"regret_{budget}", **same, scenario="changed space")
            told = _median(rows, "told", **same, scenario="changed space")
            print(
                f"{problem:16} {name:11} "
                + " ".join(f"{c:8.3f}" for c in cells)
                + f" {wide:8.3f} {told:10.0f}"
            )
    for n in (EARLY, budget):
        ratios = []
        for problem in dict.fromkeys(r["problem"] for r in rows):
            for name in STRATEGIES:
                same = {"problem": problem, "strategy": name, "scenario": "same space"}
                cold = _median(rows, f"regret_{n}", **same, start="cold")
                warm = _median(rows, f"regret_{n}", **same, start="warm")
                if cold > 0:
                    ratios.append(warm / cold)
        print(
            f"after {n} new jobs: median over problems and strategies of warm/cold regret "
            f"{statistics.median(ratios):.2f} (warm better in {sum(r < 1 for r in ratios)} "
            f"of {len(ratios)})"
        )


if __name__ == "__main__":
    main()
