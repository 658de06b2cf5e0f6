"""Search quality: every byohpo strategy against random search and against peer libraries.

Runs each method on each single-objective problem of :mod:`benchmarks.problems`
(the mixed-type test functions and the digits MLP from real runs) for 200
evaluations in batches of 8 (a batch is asked, all of it is told, then the
next: as a study with ``max_parallel_jobs=8`` runs), over 10 seeds. byohpo's
strategies never see the budget, so the first 50 evaluations of a run are
exactly a run with ``max_jobs=50``; Nevergrad is given the budget of 200 and
8 workers (it chooses its algorithm from them), Optuna needs neither.

Methods: byohpo's registered strategies but population based training
(:data:`OURS`; ``random`` is the baseline), Optuna's TPE and CMA-ES samplers,
and Nevergrad's NGOpt, DE and CMA, all with their default options, the peers
through :mod:`benchmarks.peers`.

Regret is the distance of the best value found so far to the known optimum;
normalized regret divides it by the median regret of a uniform random
configuration (0: the optimum; 1: a typical random configuration). Prints
the median and interquartile range of normalized regret after 50 and 200
evaluations, and where byohpo's best strategy trails the best peer. Writes
one CSV row per run to ``benchmarks/results/strategy_quality.csv`` and a
figure to ``benchmarks/results/strategy_quality.png``.

Usage, from the repository root::

    .venv/bin/python -m benchmarks.strategy_quality [--seeds 10] [--budget 200]
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

from benchmarks.functions import BenchmarkFunction
from benchmarks.peers import NEVERGRAD_OPTIMIZERS, NevergradSearch, OptunaSearch
from benchmarks.problems import all_functions, scale
from byohpo.objectives import Direction, Objective
from byohpo.space import Config, SearchSpace
from byohpo.strategies import STRATEGIES, make_strategy

BATCH = 8
CHECKPOINTS = (50, 200)
RESULTS = Path(__file__).parent / "results"
PEERS = ("optuna-tpe", "optuna-cmaes", *(f"nevergrad-{n.lower()}" for n in NEVERGRAD_OPTIMIZERS))
OURS = tuple(name for name in STRATEGIES if name != "pbt")
"""byohpo's strategies that search over hyperparameters alone. Population based training
continues models from checkpoints, which a function of the hyperparameters does not have;
``benchmarks/pbt_schedule.py`` measures it."""


class Searcher(Protocol):
    def ask(self, n: int) -> list[Config]: ...

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None: ...


def make_searcher(
    method: str,
    space: SearchSpace,
    objectives: Sequence[Objective],
    seed: int,
    budget: int,
) -> Searcher:
    """A byohpo strategy by name, or a peer as ``optuna-<sampler>`` / ``nevergrad-<optimizer>``."""
    library, _, name = method.partition("-")
    if library == "optuna":
        return OptunaSearch(name, space, objectives, seed)
    if library == "nevergrad":
        optimizer = next(n for n in NEVERGRAD_OPTIMIZERS if n.lower() == name)
        return NevergradSearch(optimizer, space, objectives, seed, budget=budget, workers=BATCH)
    strategy = make_strategy(method, seed=seed)
    strategy.setup(space, objectives)
    return strategy


def run(method: str, function: BenchmarkFunction, seed: int, budget: int) -> dict[str, float]:
    """One search: regret at each checkpoint, repeated suggestions, and the method's CPU time."""
    objective = Objective("value", Direction.parse(function.direction))
    started = time.process_time()
    searcher = make_searcher(method, function.space, [objective], seed, budget)
    sign = 1.0 if function.direction == "minimize" else -1.0
    best = float("inf")
    seen: set[str] = set()
    repeats = evaluations = 0
    row: dict[str, float] = {}
    while evaluations < budget:
        configs = searcher.ask(min(BATCH, budget - evaluations))
        if not configs:
            raise RuntimeError(f"{method} asked nothing with no job in flight")
        for config in configs:
            key = json.dumps(function.space.hyperparameters(config), sort_keys=True)
            repeats += key in seen
            seen.add(key)
            value = function.objective(config)
            searcher.tell(config, {"value": value})
            best = min(best, sign * value)
            evaluations += 1
            if evaluations in CHECKPOINTS:
                regret = function.regret(sign * best)
                row[f"regret_{evaluations}"] = regret
                row[f"normalized_{evaluations}"] = scale(function).normalized(regret)
    close = getattr(searcher, "close", None)
    if close is not None:
        close()
    row["repeat_share"] = repeats / budget
    row["cpu_seconds"] = time.process_time() - started
    return row


def quartiles(values: Sequence[float]) -> tuple[float, float, float]:
    """First quartile, median, third quartile."""
    q1, median, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, median, q3


def summarize(
    rows: list[dict[str, Any]], methods: Sequence[str], checkpoints: Sequence[int]
) -> str:
    """Markdown tables of median [IQR] normalized regret, and the peers' lead."""
    functions = list(dict.fromkeys(r["function"] for r in rows))

    def values(function: str, method: str, c: int) -> list[float]:
        return [
            r[f"normalized_{c}"]
            for r in rows
            if r["function"] == function and r["method"] == method
        ]

    lines: list[str] = []
    for c in checkpoints:
        lines += [
            f"\nNormalized regret after {c} evaluations: median [first quartile, third "
            "quartile] over the seeds (0 is the optimum, 1 a typical random configuration; "
            "bold: the lowest median)\n",
            "| method | " + " | ".join(functions) + " |",
            "|---|" + "---|" * len(functions),
        ]
        medians = {
            (f, m): quartiles(values(f, m, c))[1]
            for f in functions
            for m in methods
            if values(f, m, c)
        }
        for m in methods:
            cells = [m]
            for f in functions:
                if (f, m) not in medians:
                    cells.append("")
                    continue
                q1, median, q3 = quartiles(values(f, m, c))
                best = min(v for (g, _), v in medians.items() if g == f)
                text = f"{median:.3g} [{q1:.3g}, {q3:.3g}]"
                cells.append(f"**{text}**" if median == best else text)
            lines.append("| " + " | ".join(cells) + " |")
        lines += [
            "",
            f"byohpo's best strategy against the best peer after {c} evaluations (lowest "
            "median of each side; ratio above 1: byohpo trails)\n",
            "| problem | byohpo's best | peers' best | ratio |",
            "|---|---|---|---:|",
        ]
        for f in functions:
            ours = [(medians[f, m], m) for m in methods if m not in PEERS and (f, m) in medians]
            theirs = [(medians[f, m], m) for m in methods if m in PEERS and (f, m) in medians]
            if not ours or not theirs:
                continue
            (a, am), (b, bm) = min(ours), min(theirs)
            ratio = f"{a / b:.2g}x" if b > 0 else "-"
            lines.append(f"| {f} | {am} {a:.3g} | {bm} {b:.3g} | {ratio} |")
    return "\n".join(lines)


def plot(
    rows: list[dict[str, Any]],
    methods: Sequence[str],
    path: Path,
    *,
    group: str = "function",
    measure: str = "normalized",
    label: str = "normalized regret",
) -> None:
    """Median and interquartile range of ``<measure>_<evaluations>``, per problem and budget."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    problems = list(dict.fromkeys(r[group] for r in rows))
    checkpoints = sorted({int(k.rsplit("_")[-1]) for k in rows[0] if k.startswith(f"{measure}_")})
    figure, axes = plt.subplots(
        len(checkpoints),
        len(problems),
        figsize=(3.2 * max(len(problems), 3), 0.3 * len(methods) * 2.2),
        squeeze=False,
    )
    for i, c in enumerate(checkpoints):
        for j, problem in enumerate(problems):
            ax = axes[i][j]
            for k, m in enumerate(methods):
                data = [
                    r[f"{measure}_{c}"] for r in rows if r[group] == problem and r["method"] == m
                ]
                if not data:
                    continue
                q1, median, q3 = quartiles([max(v, 1e-6) for v in data])
                color = "tab:orange" if m in PEERS or m.startswith("optuna") else "tab:blue"
                ax.errorbar(median, k, xerr=[[median - q1], [q3 - median]], fmt="o", color=color)
            ax.set_xscale("log")
            ax.tick_params(axis="x", which="both", labelsize=6, labelrotation=40)
            ax.set_yticks(range(len(methods)))
            ax.set_yticklabels(methods if j == 0 else [])
            ax.invert_yaxis()
            ax.set_title(f"{problem}, {c} evaluations", fontsize=9)
            ax.grid(True, axis="x", alpha=0.3)
    figure.supxlabel(f"{label}: median and interquartile range (blue: byohpo, orange: peers)")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=max(CHECKPOINTS))
    parser.add_argument("--methods", nargs="*", default=[*OURS, *PEERS])
    options = parser.parse_args()
    checkpoints = [c for c in CHECKPOINTS if c <= options.budget]
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for function in all_functions():
        for method in options.methods:
            for seed in range(options.seeds):
                result = run(method, function, seed, options.budget)
                rows.append({"function": function.name, "method": method, "seed": seed, **result})
        print(f"{function.name}: done ({time.perf_counter() - started:.0f} s)", flush=True)
    write_csv(rows, RESULTS / "strategy_quality.csv")
    plot(rows, options.methods, RESULTS / "strategy_quality.png")
    print(summarize(rows, options.methods, checkpoints))
    print("\nCPU seconds per run of 200 evaluations (the method's own work, median)\n")
    for method in options.methods:
        cpu = statistics.median(r["cpu_seconds"] for r in rows if r["method"] == method)
        print(f"- {method}: {cpu:.2f}")
    elapsed = time.perf_counter() - started
    print(f"\n{len(rows)} searches, {elapsed:.0f} s; rows in {RESULTS / 'strategy_quality.csv'}")


if __name__ == "__main__":
    main()
