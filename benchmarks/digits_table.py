"""Tabulate the digits MLP of ``entry_points/digits_mlp.py`` over a small grid, once.

Trains the network for every combination of the grid below with the script's
own model, data split, seeding and evaluation, and records after each epoch
the validation accuracy and loss and the training seconds so far (measured
here). The table, ``benchmarks/data/digits_mlp.csv``, is committed: the
benchmarks read it through :class:`byohpo.simulator.TableProblem`, so a
simulated job reports what the real script reported for the nearest runs.

Usage, from the repository root (about two minutes on one core)::

    .venv/bin/python -m benchmarks.digits_table
"""

from __future__ import annotations

import csv
import importlib.util
import itertools
import os
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TABLE = Path(__file__).parent / "data" / "digits_mlp.csv"

LEARNING_RATES = (1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1)
OPTIMIZERS = ("sgd", "adam")
HIDDEN_UNITS = (16, 64, 256)
BATCH_SIZES = (32, 128)
EPOCHS = 30
COLUMNS = (
    "learning_rate",
    "optimizer",
    "hidden_units",
    "batch_size",
    "num_epoch",
    "validation:accuracy",
    "validation:loss",
    "seconds",
)


def load_script() -> ModuleType:
    """The training script as a module (it lives outside the package's import path)."""
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    path = ROOT / "entry_points" / "digits_mlp.py"
    spec = importlib.util.spec_from_file_location("digits_mlp", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(script: ModuleType, data: Any, **grid_point: Any) -> list[dict[str, Any]]:
    """One training run of ``EPOCHS`` epochs: one row per epoch."""
    x_train, y_train, x_val, y_val = data
    hp = {"activation": "relu", "alpha": 1e-4, "momentum": 0.9, "seed": 1, **grid_point}
    model = script.MLPClassifier(**script.estimator_settings(hp))
    rows: list[dict[str, Any]] = []
    seconds = 0.0
    accuracy, loss = 0.1, 2.3  # a diverged network is no better than chance
    for epoch in range(1, EPOCHS + 1):
        model.set_params(random_state=script.epoch_seed(hp["seed"], epoch))
        started = time.perf_counter()
        diverged = False
        try:
            model.partial_fit(x_train, y_train, classes=script.CLASSES)
        except ValueError:
            diverged = True  # the script fails the job here; the table records chance level
        seconds += time.perf_counter() - started
        if not diverged:
            accuracy, loss = script.evaluate(model, x_val, y_val)
        rows.append(
            {
                **grid_point,
                "num_epoch": epoch,
                "validation:accuracy": round(accuracy, 6),
                "validation:loss": round(min(loss, 99.0), 6),
                "seconds": round(seconds, 4),
            }
        )
        if diverged:
            for later in range(epoch + 1, EPOCHS + 1):
                rows.append({**rows[-1], "num_epoch": later})
            break
    return rows


def main() -> None:
    script = load_script()
    data = script.load_data(None, None)
    started = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for lr, optimizer, units, batch in itertools.product(
        LEARNING_RATES, OPTIMIZERS, HIDDEN_UNITS, BATCH_SIZES
    ):
        rows += run(
            script,
            data,
            learning_rate=lr,
            optimizer=optimizer,
            hidden_units=units,
            batch_size=batch,
        )
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    with TABLE.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    best = max(rows, key=lambda r: r["validation:accuracy"])
    print(f"{len(rows)} rows in {TABLE} ({time.perf_counter() - started:.0f} s); best: {best}")


if __name__ == "__main__":
    main()
