"""Search quality with two objectives: byohpo's NSGA-II and PAES against the peers.

Each method searches each two-objective problem for 200 evaluations in
batches of 8, over 10 seeds, like :mod:`benchmarks.strategy_quality`. The
measure is the hypervolume the evaluated points dominate (up to a reference
point), as a regret: ``(optimal hypervolume - reached) / optimal``, 0 when the
true Pareto front was found.

- **zdt1-mixed** (both minimized): ZDT1 over a continuous ``x1`` and four
  mixed-type parameters (continuous, log-scaled, integer, categorical) whose
  best values lie inside their ranges. Its front is known exactly
  (``f2 = 1 - sqrt(f1)``), so the optimal hypervolume is exact.
- **digits-mlp-time**: the digits MLP of real runs, maximizing validation
  accuracy and minimizing training seconds. Its front is estimated from
  every run of the table and 20,000 random configurations.

Methods: byohpo's ``bo`` (ParEGO weightings), ``nsga2``, ``paes`` and ``random``,
Optuna's NSGA-II and TPE samplers, Nevergrad's NGOpt and DE (``--methods`` for
fewer). Writes
``benchmarks/results/pareto_quality.csv`` and ``pareto_quality.png``, and prints
median [IQR] tables.

    .venv/bin/python -m benchmarks.pareto_quality [--seeds 10]
"""

from __future__ import annotations

import argparse
import itertools
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.problems import DIGITS_METRIC, DIGITS_SPACE, digits_table
from benchmarks.strategy_quality import (
    BATCH,
    RESULTS,
    make_searcher,
    plot,
    quartiles,
    write_csv,
)
from byohpo.objectives import Direction, Objective
from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace

CHECKPOINTS = (50, 200)
METHODS = (
    "random",
    "bo",
    "nsga2",
    "paes",
    "optuna-nsga2",
    "optuna-tpe",
    "nevergrad-ngopt",
    "nevergrad-de",
)


def hypervolume(points: Sequence[tuple[float, float]], reference: tuple[float, float]) -> float:
    """The area two-objective points (both minimized) dominate up to ``reference``."""
    front: list[tuple[float, float]] = []
    for f1, f2 in sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1]):
        if not front or f2 < front[-1][1]:
            front.append((f1, f2))
    if not front:
        return 0.0
    rights = [f1 for f1, _ in front[1:]] + [reference[0]]
    return sum(
        (right - f1) * (reference[1] - f2) for (f1, f2), right in zip(front, rights, strict=True)
    )


@dataclass(frozen=True)
class ParetoProblem:
    """A search space with two objectives, both minimized, and the optimal hypervolume."""

    name: str
    space: SearchSpace
    objectives: Callable[[Config], tuple[float, float]]
    reference: tuple[float, float]
    optimal_hypervolume: float
    exact: bool


def _zdt1_mixed(config: Config) -> tuple[float, float]:
    distances = [
        abs(float(config["x2"]) - 0.3) / 0.7,
        abs(math.log10(float(config["learning_rate"])) + 3.0) / 2.0,
        abs(int(config["k"]) - 3) / 7.0,
        {"a": 0.5, "b": 0.0, "c": 1.0}[str(config["kind"])],
    ]
    g = 1.0 + 9.0 * sum(distances) / len(distances)
    f1 = float(config["x1"])
    return f1, g * (1.0 - math.sqrt(f1 / g))


def zdt1_mixed() -> ParetoProblem:
    reference = (1.1, 1.1)
    # Area under the reference of the front f2 = 1 - sqrt(f1), f1 in [0, 1], plus the strip
    # f1 in [1, 1.1] that the point (1, 0) dominates.
    optimum = (reference[1] - 1.0) + 2.0 / 3.0 + (reference[0] - 1.0) * reference[1]
    return ParetoProblem(
        name="zdt1-mixed",
        space=SearchSpace(
            {
                "x1": Continuous(0.0, 1.0),
                "x2": Continuous(0.0, 1.0),
                "learning_rate": Continuous(1e-5, 1e-1, scaling="log"),
                "k": Integer(0, 10),
                "kind": Categorical(["a", "b", "c"]),
            }
        ),
        objectives=_zdt1_mixed,
        reference=reference,
        optimal_hypervolume=optimum,
        exact=True,
    )


def _digits_time(config: Config) -> tuple[float, float]:
    metrics, seconds = digits_table().evaluate(config)
    return 1.0 - metrics[DIGITS_METRIC], seconds


def digits_time(samples: int = 20_000) -> ParetoProblem:
    table = digits_table()
    grid = [table.grid(name) for name in DIGITS_SPACE]
    points = [
        _digits_time(dict(zip(DIGITS_SPACE, values, strict=True)))
        for values in itertools.product(*grid)
    ]
    rng = random.Random(0)
    points += [_digits_time(DIGITS_SPACE.sample(rng)) for _ in range(samples)]
    reference = (0.5, 1.1 * max(p[1] for p in points))
    return ParetoProblem(
        name="digits-mlp-time",
        space=DIGITS_SPACE,
        objectives=_digits_time,
        reference=reference,
        optimal_hypervolume=hypervolume(points, reference),
        exact=False,
    )


def run(method: str, problem: ParetoProblem, seed: int, budget: int) -> dict[str, float]:
    """One search: hypervolume regret at each checkpoint."""
    objectives = [Objective("f1", Direction.MINIMIZE), Objective("f2", Direction.MINIMIZE)]
    searcher = make_searcher(method, problem.space, objectives, seed, budget)
    points: list[tuple[float, float]] = []
    row: dict[str, float] = {}
    while len(points) < budget:
        configs = searcher.ask(min(BATCH, budget - len(points)))
        if not configs:
            raise RuntimeError(f"{method} asked nothing with no job in flight")
        for config in configs:
            f1, f2 = problem.objectives(config)
            searcher.tell(config, {"f1": f1, "f2": f2})
            points.append((f1, f2))
            if len(points) in CHECKPOINTS:
                reached = hypervolume(points, problem.reference)
                gap = problem.optimal_hypervolume - reached
                row[f"regret_{len(points)}"] = max(gap, 0.0) / problem.optimal_hypervolume
    close = getattr(searcher, "close", None)
    if close is not None:
        close()
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--out", type=Path, default=RESULTS / "pareto_quality.csv")
    options = parser.parse_args()
    methods = tuple(options.methods)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    problems = [zdt1_mixed(), digits_time()]
    for problem in problems:
        for method in methods:
            for seed in range(options.seeds):
                result = run(method, problem, seed, options.budget)
                rows.append({"problem": problem.name, "method": method, "seed": seed, **result})
        print(f"{problem.name}: done ({time.perf_counter() - started:.0f} s)", flush=True)
    write_csv(rows, options.out)
    plot(
        rows,
        methods,
        options.out.with_suffix(".png"),
        group="problem",
        measure="regret",
        label="hypervolume regret",
    )
    for c in (c for c in CHECKPOINTS if c <= options.budget):
        print(
            f"\nHypervolume regret after {c} evaluations: median [first quartile, third "
            "quartile] (0: the optimal front; bold: the lowest median)\n"
        )
        print("| method | " + " | ".join(p.name for p in problems) + " |")
        print("|---|" + "---|" * len(problems))
        medians = {
            (p.name, m): quartiles(
                [r[f"regret_{c}"] for r in rows if r["problem"] == p.name and r["method"] == m]
            )
            for p in problems
            for m in methods
        }
        for m in methods:
            cells = [m]
            for p in problems:
                q1, median, q3 = medians[p.name, m]
                best = min(v[1] for (name, _), v in medians.items() if name == p.name)
                text = f"{median:.3g} [{q1:.3g}, {q3:.3g}]"
                cells.append(f"**{text}**" if median == best else text)
            print("| " + " | ".join(cells) + " |")
    for p in problems:
        kind = "exact" if p.exact else "estimated"
        print(
            f"\n{p.name}: optimal hypervolume {p.optimal_hypervolume:.4g} ({kind}), "
            f"reference point {p.reference}"
        )
    print(f"\n{len(rows)} searches, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
