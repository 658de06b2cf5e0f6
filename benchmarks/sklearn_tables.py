"""Tabulate scikit-learn models on datasets bundled with scikit-learn, once (as Bayesmark does).

No hyperparameter benchmark on PyPI ships its tables inside the wheel and
installs on a current Python: YAHPO Gym, HPOBench, JAHS-Bench-201,
mf-prior-bench and CARP-S download their tables or surrogates on first use;
Bayesmark (which trains scikit-learn models on scikit-learn's bundled
datasets) pins numpy 1.16 and scikit-learn 0.20; LCDB ships learning curves
of learners at their default settings, not of hyperparameters. So these
problems follow Bayesmark's recipe with the installed scikit-learn: a model,
a dataset that ships with scikit-learn (no download), and k-fold
cross-validation, tabulated once over a grid and interpolated between grid
points by :class:`byohpo.simulator.TableProblem` (as the digits MLP is), so
that a benchmark run costs a lookup per evaluation, not a training run.

- **svm-cancer**: a support vector classifier on the breast-cancer data
  (569 samples, 30 features, standardized), 5-fold stratified accuracy, over
  ``C`` and ``gamma`` (log-scaled) and the kernel (rbf, sigmoid; categorical).
- **gbm-diabetes**: histogram gradient boosting on the diabetes data (442
  samples, 10 features), 3-fold R², over the learning rate (log), the number
  of boosting rounds, the leaves per tree (log) and the samples per leaf (log).

The tables, ``benchmarks/data/svm_cancer.csv`` and
``benchmarks/data/gbm_diabetes.csv``, are committed. Usage, from the
repository root (a few minutes on one core)::

    .venv/bin/python -m benchmarks.sklearn_tables [svm-cancer] [gbm-diabetes]
"""

from __future__ import annotations

import csv
import itertools
import os
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Grid:
    """A model over a dataset, the grid it is tabulated on, and the metric it reports."""

    name: str
    grid: Mapping[str, Sequence[Any]]
    metric: str
    score: Callable[[Mapping[str, Any]], float]

    @property
    def path(self) -> Path:
        return DATA / f"{self.name.replace('-', '_')}.csv"


def _svm_cancer(hp: Mapping[str, Any]) -> float:
    from sklearn.datasets import load_breast_cancer
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    x, y = load_breast_cancer(return_X_y=True)
    model = make_pipeline(
        StandardScaler(), SVC(C=hp["C"], gamma=hp["gamma"], kernel=hp["kernel"], max_iter=100_000)
    )
    folds = StratifiedKFold(5, shuffle=True, random_state=0)
    return float(cross_val_score(model, x, y, cv=folds, scoring="accuracy").mean())


def _gbm_diabetes(hp: Mapping[str, Any]) -> float:
    from sklearn.datasets import load_diabetes
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.model_selection import KFold, cross_val_score

    x, y = load_diabetes(return_X_y=True)
    model = HistGradientBoostingRegressor(
        learning_rate=hp["learning_rate"],
        max_iter=hp["max_iter"],
        max_leaf_nodes=hp["max_leaf_nodes"],
        min_samples_leaf=hp["min_samples_leaf"],
        early_stopping=False,
        random_state=0,
    )
    folds = KFold(3, shuffle=True, random_state=0)
    return float(cross_val_score(model, x, y, cv=folds, scoring="r2").mean())


def _powers(low: float, high: float, per_decade: int) -> tuple[float, ...]:
    import math

    steps = round(per_decade * math.log10(high / low))
    return tuple(float(f"{low * 10 ** (i / per_decade):.3g}") for i in range(steps + 1))


GRIDS = (
    Grid(
        "svm-cancer",
        {
            "C": _powers(1e-2, 1e3, 2),
            "gamma": _powers(1e-5, 1e1, 2),
            "kernel": ("rbf", "sigmoid"),
        },
        "accuracy",
        _svm_cancer,
    ),
    Grid(
        "gbm-diabetes",
        {
            "learning_rate": (0.01, 0.03, 0.1, 0.3, 1.0),
            "max_iter": (10, 30, 100),
            "max_leaf_nodes": (3, 7, 15, 31),
            "min_samples_leaf": (2, 8, 30, 100),
        },
        "r2",
        _gbm_diabetes,
    ),
)


def tabulate(grid: Grid) -> list[dict[str, Any]]:
    """Every grid point's cross-validated score and training-plus-scoring seconds."""
    rows: list[dict[str, Any]] = []
    names = list(grid.grid)
    for values in itertools.product(*grid.grid.values()):
        hp = dict(zip(names, values, strict=True))
        started = time.perf_counter()
        score = grid.score(hp)
        rows.append(
            {**hp, grid.metric: round(score, 6), "seconds": round(time.perf_counter() - started, 4)}
        )
    return rows


def main(names: Sequence[str] = ()) -> None:
    """Tabulate the grids named (all when none is)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    warnings.simplefilter("ignore", ConvergenceWarning)
    for grid in (g for g in GRIDS if not names or g.name in names):
        started = time.perf_counter()
        rows = tabulate(grid)
        grid.path.parent.mkdir(parents=True, exist_ok=True)
        with grid.path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        best = max(rows, key=lambda r: r[grid.metric])
        print(f"{grid.name}: {len(rows)} rows ({time.perf_counter() - started:.0f} s); best {best}")


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
