"""The best model for 50 paid jobs: byohpo's ``auto`` and ``bo`` against Optuna's GP and TPE.

Each method searches each single-objective problem in batches of 8 (a batch
is asked, all of it is told, then the next: as a study with
``max_parallel_jobs=8`` runs), over 10 seeds, to 200 evaluations (Optuna's
GPSampler to 50: above that its per-trial fit makes a run take minutes).
byohpo's strategies never see the budget, so the first 50 evaluations of a
run are the run a study with ``max_jobs=50`` makes.

Problems: the ten of :func:`problems`, the mixed-type test functions of
:mod:`benchmarks.functions` and :mod:`benchmarks.more_functions`, the
digits MLP from real runs (``benchmarks/digits_table.py``), and two
scikit-learn models on datasets bundled with scikit-learn
(``benchmarks/sklearn_tables.py``). Methods: byohpo's
``auto``, ``bo``, ``dea``, ``eda`` and ``random``, and Optuna's GPSampler and
TPESampler through byohpo's own adapter (``optuna:gp``, ``optuna:tpe``),
each with its default options. Normalized regret: 0 is the optimum, 1 a
typical random configuration (:func:`benchmarks.problems.scale`).

Reports, per checkpoint, the mean over problems of each method's median
normalized regret, the per-problem medians, and the CPU milliseconds the
method spent per ``ask`` (median over runs; and for the last ask of a run,
with 192 results told). Rows go to ``benchmarks/results/model_quality.csv``.

Usage, from the repository root (the parts can run in separate processes)::

    .venv/bin/python -m benchmarks.model_quality [--seeds 10] [--methods bo auto ...]
        [--out results.csv]
    .venv/bin/python -m benchmarks.model_quality --report part1.csv part2.csv
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from benchmarks.functions import BenchmarkFunction
from benchmarks.more_functions import MORE_FUNCTIONS
from benchmarks.problems import all_functions, scale, sklearn_functions
from byohpo.objectives import Direction, Objective
from byohpo.strategies import make_strategy

BATCH = 8
CHECKPOINTS = (50, 200)
RESULTS = Path(__file__).parent / "results"
METHODS = ("auto", "bo", "optuna:gp", "optuna:tpe", "dea", "eda", "random")
SHORT_BUDGET = {"optuna:gp": 50}
"""Methods run to fewer evaluations (the cost of a run grows too fast)."""


def problems() -> tuple[BenchmarkFunction, ...]:
    """The ten single-objective problems."""
    return (*all_functions(), *MORE_FUNCTIONS, *sklearn_functions())


def run(method: str, function: BenchmarkFunction, seed: int, budget: int) -> dict[str, Any]:
    """One search: normalized regret at each checkpoint, CPU time per ask, what auto chose."""
    objective = Objective("value", Direction.parse(function.direction))
    strategy = make_strategy(method, seed=seed)
    strategy.setup(function.space, [objective])
    strategy.set_mode("generational")
    sign = 1.0 if function.direction == "minimize" else -1.0
    best = float("inf")
    seen: set[str] = set()
    repeats = evaluations = 0
    ask_ms: list[float] = []
    row: dict[str, Any] = {}
    while evaluations < budget:
        started = time.process_time()
        configs = strategy.ask(min(BATCH, budget - evaluations))
        ask_ms.append(1000.0 * (time.process_time() - started))
        if not configs:
            raise RuntimeError(f"{method} asked nothing with no job in flight")
        for config in configs:
            key = json.dumps(function.space.hyperparameters(config), sort_keys=True)
            repeats += key in seen
            seen.add(key)
            value = function.objective(config)
            strategy.tell(config, {"value": value})
            best = min(best, sign * value)
            evaluations += 1
            if evaluations in CHECKPOINTS:
                regret = function.regret(sign * best)
                row[f"normalized_{evaluations}"] = scale(function).normalized(regret)
    row["ask_ms_median"] = statistics.median(ask_ms)
    row["ask_ms_last"] = ask_ms[-1]
    row["repeat_share"] = repeats / budget
    row["chosen"] = strategy.options.get("chosen", "")
    return row


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fields = list(dict.fromkeys(k for r in rows for k in r))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)


def read_csv(paths: Sequence[Path]) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for path in paths:
        with path.open() as handle:
            for row in csv.DictReader(handle):
                rows.append(
                    {
                        k: (float(v) if k.startswith(("normalized", "ask_ms")) and v else v)
                        for k, v in row.items()
                    }
                )
    return rows


def report(rows: list[dict[str, Any]]) -> str:
    """Markdown: mean of per-problem medians, per-problem medians, CPU ms per ask."""
    names = list(dict.fromkeys(r["function"] for r in rows))
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    methods += [m for m in dict.fromkeys(r["method"] for r in rows) if m not in methods]

    def median(function: str, method: str, key: str) -> float | None:
        values = [
            r[key]
            for r in rows
            if r["function"] == function and r["method"] == method and r.get(key) not in (None, "")
        ]
        return statistics.median(values) if values else None

    lines = [
        "| method | mean of medians, 50 evaluations | at 200 | CPU ms per ask, runs of 50 "
        "(median) | CPU ms, last ask of a run of 200 (192 told) |",
        "|---|---:|---:|---:|---:|",
    ]

    def long(r: dict[str, Any]) -> bool:
        return r.get("normalized_200") not in (None, "")

    for m in methods:
        cells = [m]
        for c in CHECKPOINTS:
            medians = [v for f in names if (v := median(f, m, f"normalized_{c}")) is not None]
            part = (
                "" if len(medians) == len(names) else f" ({len(medians)} of {len(names)} problems)"
            )
            cells.append(f"{statistics.mean(medians):.3f}{part}" if medians else "–")
        asks = [r["ask_ms_median"] for r in rows if r["method"] == m and not long(r)]
        last = [r["ask_ms_last"] for r in rows if r["method"] == m and long(r)]
        cells += [f"{statistics.median(v):.0f}" if v else "–" for v in (asks, last)]
        lines.append("| " + " | ".join(cells) + " |")
    for c in (c for c in CHECKPOINTS if any(r.get(f"normalized_{c}") for r in rows)):
        lines += [
            "",
            f"Median normalized regret after {c} evaluations (bold: the lowest of the row)",
            "",
            "| problem | " + " | ".join(methods) + " |",
            "|---|" + "---:|" * len(methods),
        ]
        for f in names:
            values = {m: median(f, m, f"normalized_{c}") for m in methods}
            low = min((v for v in values.values() if v is not None), default=None)
            cells = [
                "–" if v is None else (f"**{v:.3g}**" if v == low else f"{v:.3g}")
                for v in values.values()
            ]
            lines.append(f"| {f} | " + " | ".join(cells) + " |")
    chosen = sorted({(r["function"], r["chosen"]) for r in rows if r["method"] == "auto"})
    if chosen:
        lines += ["", "auto chose: " + ", ".join(f"{f}: {c}" for f, c in chosen)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--methods", nargs="*", default=list(METHODS))
    parser.add_argument("--problems", nargs="*", default=None)
    parser.add_argument("--out", type=Path, default=RESULTS / "model_quality.csv")
    parser.add_argument("--report", nargs="*", type=Path, default=None)
    options = parser.parse_args()
    if options.report:
        print(report(read_csv(options.report)))
        return
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for function in problems():
        if options.problems and function.name not in options.problems:
            continue
        for method in options.methods:
            budget = min(options.budget, SHORT_BUDGET.get(method, options.budget))
            for seed in range(options.seeds):
                result = run(method, function, seed, budget)
                rows.append({"function": function.name, "method": method, "seed": seed, **result})
            print(f"{function.name} {method}: {time.perf_counter() - started:.0f} s", flush=True)
        write_csv(rows, options.out)
    print(report(rows))


if __name__ == "__main__":
    main()
