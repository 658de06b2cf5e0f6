"""How well each strategy searches: best result found versus random search, and repeats.

Runs every registered strategy on every function of ``benchmarks.functions``
for 200 evaluations in batches of 8 (a generation is asked, all of it is
told, then the next; as the generational tuner does with
``max_parallel_jobs=8``), over 10 seeds. Strategies never see the budget, so
the first 50 evaluations of a run are exactly a run with ``max_jobs=50``.

Prints, per function and strategy, the median regret (distance of the best
result so far to the known optimum) after 50 and 200 evaluations, how many
seeds beat random search with the same seed, and the share of suggestions
that repeat a configuration already suggested (as SageMaker receives it).
Writes one CSV row per run to ``benchmarks/results/strategy_quality.csv``.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.strategy_quality [--seeds 10] [--budget 200]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from pathlib import Path
from typing import Any

from benchmarks.functions import FUNCTIONS, BenchmarkFunction
from byohpo.objectives import Direction, Objective
from byohpo.strategies import STRATEGIES, make_strategy

BATCH = 8
CHECKPOINTS = (50, 200)
RESULTS = Path(__file__).parent / "results" / "strategy_quality.csv"


def run(name: str, function: BenchmarkFunction, seed: int, budget: int) -> dict[str, float]:
    """One study: best-so-far regret at each checkpoint and the share of repeated suggestions."""
    strategy = make_strategy(name, seed=seed)
    strategy.setup(function.space, [Objective("value", Direction.parse(function.direction))])
    sign = 1.0 if function.direction == "minimize" else -1.0
    best = float("inf")
    seen: set[str] = set()
    repeats = 0
    evaluations = 0
    row: dict[str, float] = {}
    while evaluations < budget:
        configs = strategy.ask(min(BATCH, budget - evaluations))
        if not configs:
            raise RuntimeError(f"{name} asked nothing with no job in flight")
        for config in configs:
            key = json.dumps(function.space.hyperparameters(config), sort_keys=True)
            repeats += key in seen
            seen.add(key)
            value = function.objective(config)
            strategy.tell(config, {"value": value})
            best = min(best, sign * value)
            evaluations += 1
            if evaluations in CHECKPOINTS:
                row[f"regret_{evaluations}"] = function.regret(sign * best)
    row["repeat_share"] = repeats / budget
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--strategies", nargs="*", default=list(STRATEGIES))
    options = parser.parse_args()
    checkpoints = [c for c in CHECKPOINTS if c <= options.budget]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for function in FUNCTIONS:
        for name in options.strategies:
            for seed in range(options.seeds):
                result = run(name, function, seed, options.budget)
                rows.append({"function": function.name, "strategy": name, "seed": seed, **result})
    elapsed = time.perf_counter() - started

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    def runs(function: str, strategy: str) -> list[dict[str, Any]]:
        return [r for r in rows if r["function"] == function and r["strategy"] == strategy]

    names = [f.name for f in FUNCTIONS]
    for c in checkpoints:
        print(f"\nMedian regret after {c} evaluations (bold: below random search's median;")
        print(f"in brackets: seeds of {options.seeds} where it beat random search, same seed)\n")
        print("| strategy | " + " | ".join(names) + " |")
        print("|---|" + "---|" * len(names))
        for name in options.strategies:
            cells = [name]
            for function in FUNCTIONS:
                mine = runs(function.name, name)
                baseline = runs(function.name, "random")
                median = statistics.median(r[f"regret_{c}"] for r in mine)
                if name == "random" or not baseline:
                    cells.append(f"{median:.3g}")
                    continue
                wins = sum(
                    m[f"regret_{c}"] < b[f"regret_{c}"] for m, b in zip(mine, baseline, strict=True)
                )
                ahead = median < statistics.median(r[f"regret_{c}"] for r in baseline)
                text = f"**{median:.3g}**" if ahead else f"{median:.3g}"
                cells.append(f"{text} ({wins}/{len(mine)})")
            print("| " + " | ".join(cells) + " |")

    print("\nShare of suggestions repeating one already suggested\n")
    print("| strategy | " + " | ".join(names) + " |")
    print("|---|" + "---|" * len(names))
    for name in options.strategies:
        shares = [statistics.mean(r["repeat_share"] for r in runs(n, name)) for n in names]
        print("| " + " | ".join([name, *(f"{share:.1%}" for share in shares)]) + " |")
    print(f"\n{len(rows)} studies, {elapsed:.0f} s; per-run rows in {RESULTS}")


if __name__ == "__main__":
    main()
