"""Pinned seeded suggestions of every strategy: ``golden.json`` and how to rebuild it.

A change of behaviour (an operator, a default, the order of random draws)
shows up as a diff of ``golden.json``. When the change is intended,
regenerate the file from the repository root and commit it with the change::

    .venv/bin/python -m tests.strategies.regenerate_golden
"""

from __future__ import annotations

import json
from pathlib import Path

from byohpo.strategies import STRATEGIES
from byohpo.strategies._suggestion import parent_of

from .scenario import SPACE, build, drive, new_state

GOLDEN = Path(__file__).with_name("golden.json")
SEED = 7
BUDGET = 12
SLOTS = 4


def golden_runs() -> dict[str, list[str]]:
    """Each strategy's first suggestions (seed 7, 4 slots, 12 results), one line per config.

    A suggestion that names a parent trial ends with ``<- <parent>``.
    """
    runs = {}
    for name in STRATEGIES:
        state = drive(build(name, seed=SEED), new_state(), budget=BUDGET, slots=SLOTS)
        runs[name] = [
            " ".join(f"{k}={v}" for k, v in SPACE.hyperparameters(config).items())
            + ("" if parent_of(config) is None else f" <- {parent_of(config)}")
            for config in state["asked"]
        ]
    return runs


def main() -> None:
    GOLDEN.write_text(json.dumps(golden_runs(), indent=1) + "\n")
    print(f"wrote {GOLDEN}")


if __name__ == "__main__":
    main()
