"""Studies snapshotted by an earlier byohpo resume: stored strategy snapshots still restore.

``snapshots_before_split.json`` holds evolutionary strategies snapshotted part-way
through the scenario by the code before ``EvolutionaryStrategy`` was split into
its population and forms, each with every configuration the uninterrupted
strategy asked. Restored now, each continues with the same decisions; the
asynchronous ``eda``, whose breeding changed since, continues to the budget.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from byohpo.strategies import make_strategy

from .scenario import SPACE, drive, objectives_for

STORED = json.loads(Path(__file__).with_name("snapshots_before_split.json").read_text())
CHANGED_SINCE = {("eda", "async")}  # asynchronous eda waits for a whole population since


def _label(run: dict[str, Any]) -> str:
    return f"{run['name']}-{run['mode']}" + ("-islands" if run["options"] else "")


@pytest.mark.parametrize("run", STORED, ids=_label)
def test_a_stored_snapshot_restores_and_continues_the_study(run: dict[str, Any]) -> None:
    strategy = make_strategy(run["name"], **run["options"])
    strategy.setup(SPACE, objectives_for(run["name"]))
    strategy.restore(run["snapshot"])
    state = drive(strategy, run["state"], budget=run["budget"], slots=run["slots"])
    assert state["told"] == run["budget"]
    if (run["name"], run["mode"]) in CHANGED_SINCE:
        assert len(state["asked"]) == len(run["asked"])
    else:
        assert state["asked"] == run["asked"]
