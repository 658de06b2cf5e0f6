"""ASHA's promotion form in a whole study, in the simulator: pause, promote, bill, tell, resume."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.errors import JobDefinitionError
from byohpo.simulator import Simulator, StartupModel
from byohpo.study._early_stopping import STOPPED_AT_POINT
from byohpo.study._store import MemoryEventLog

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
METRIC = "validation:accuracy"
EPOCHS = 9
SPACE = byohpo.SearchSpace(
    {
        "learning_rate": byohpo.Continuous(1e-4, 1e-1, scaling="log"),
        "num_epoch": byohpo.Static(EPOCHS),
    }
)
STARTUP = StartupModel(cold_seconds=60, warm_seconds=60, sigma=0, upload_seconds=0)
CHECKPOINTS = "s3://my-bucket/checkpoints"
PROMOTE = {"read_interval": 0, "promote": True}


class Recorder:
    """Random configurations of the user's own; notes what it is told (each asked config once)."""

    supports_async = True

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.asked: list[dict[str, Any]] = []
        self.told: list[tuple[dict[str, Any], dict[str, float] | None]] = []

    def ask(self, n: int) -> list[dict[str, Any]]:
        configs = [
            {"learning_rate": 10 ** self.rng.uniform(-4, -1), "num_epoch": EPOCHS} for _ in range(n)
        ]
        self.asked += configs
        return configs

    def tell(self, config: Mapping[str, Any], metrics: Mapping[str, float] | None) -> None:
        self.told.append((dict(config), None if metrics is None else dict(metrics)))


def template(**changes: Any) -> byohpo.TrainingJob:
    fields: dict[str, Any] = {
        "entry_point": None,
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        "role": ROLE,
        "instance_type": "ml.m5.large",
        "output_path": "s3://my-bucket/studies",
        "metric_definitions": {METRIC: r"accuracy=([0-9\.]+)"},
    }
    fields.update(changes)
    return byohpo.TrainingJob(**fields)


def curve(hp: Mapping[str, Any], epoch: int) -> dict[str, float]:
    """Accuracy rises towards a ceiling set by the learning rate (best near 10**-2.5)."""
    ceiling = 1.0 - (math.log10(hp["learning_rate"]) + 2.5) ** 2 / 10
    return {METRIC: ceiling * (1 - 0.5**epoch)}


def simulator() -> Simulator:
    return Simulator(curve, epochs=EPOCHS, duration=900.0, startup=STARTUP, seed=3)


def run(strategy: object = None, **settings: Any) -> tuple[byohpo.StudyResult, Simulator]:
    sim = simulator()
    args: dict[str, Any] = {
        "strategy": Recorder(3) if strategy is None else strategy,
        "objective": METRIC,
        "max_jobs": 18,
        "max_parallel_jobs": 3,
        "mode": "async",
        "seed": 2,
        "study_name": "promote",
        "progress": False,
        "store": MemoryEventLog(),
        "early_stopping": "asha",
        "early_stopping_options": PROMOTE,
    }
    args.update(settings)
    tuner = byohpo.Tuner(template(checkpoint_s3_uri=CHECKPOINTS), SPACE, backend=sim, **args)
    return tuner.run(), sim


def test_paused_jobs_continue_from_their_checkpoint_and_no_epoch_is_trained_twice() -> None:
    result, sim = run()
    table = result.table().set_index("trial_id", drop=False)
    promoted = table[table["parent_id"].notna()]
    assert len(promoted) >= 2
    curves = result.learning_curves()
    for tid, row in promoted.iterrows():
        parent = table.loc[int(row["parent_id"])]
        assert parent["status"] == "Stopped" and parent["stopped_by"] == "asha"
        assert "paused at rung" in parent["stopping_reason"]
        assert row["learning_rate"] == parent["learning_rate"]
        before = curves.query(f"trial_id == {int(parent['trial_id'])}")["point"].tolist()
        after = curves.query(f"trial_id == {tid}")["point"].tolist()
        assert after and after[0] == max(before) + 1  # the curve goes on at the epoch reached
        # billed for its own epochs and one start-up, not for the epochs before
        own = len(after)
        assert row["billable_seconds"] <= 900 * own / EPOCHS + 60 + 15 + 1
    # the whole chain of a configuration that ran to the end trained each epoch once
    for tid in table[(table["status"] == "Completed") & table["parent_id"].notna()]["trial_id"]:
        lineage = result.lineage(int(tid))
        points = curves[curves["trial_id"].isin(lineage["trial_id"])]["point"].tolist()
        assert points == list(range(1, EPOCHS + 1))
        assert lineage["objective"].notna().sum() == 1  # the final result shows once, at the end
    assert sim.api_calls["CopyObject"] == len(promoted)


def test_promotion_is_recorded_before_the_checkpoint_copy_and_the_job() -> None:
    result, _ = run()
    events = list(result.log.events)
    order: dict[int, list[str]] = {}
    for e in events:
        for spec in e.get("trials", []):
            order.setdefault(spec["trial_id"], []).append("asked")
        if isinstance(e.get("trial_id"), int) and e["event"] in ("checkpoint", "submitted"):
            order.setdefault(e["trial_id"], []).append(e["event"])
    promoted = result.table().dropna(subset=["parent_id"])["trial_id"]
    assert len(promoted) > 0
    for tid in promoted:
        assert order[int(tid)] == ["asked", "checkpoint", "submitted"]


def test_promotions_do_not_count_against_max_jobs_and_cost_less_than_no_rule() -> None:
    strategy = Recorder(3)
    with_promotion, _ = run(strategy)
    without, _ = run(Recorder(3), early_stopping=None, early_stopping_options=None)
    assert len(strategy.asked) == 18
    table = with_promotion.table()
    assert table["parent_id"].isna().sum() == 18  # 18 configurations, the rest promotions
    billed = table["billable_seconds"].sum()
    assert billed < 0.7 * without.table()["billable_seconds"].sum()


def test_the_strategy_is_told_each_configuration_once_with_its_chains_final_result() -> None:
    strategy = Recorder(3)
    result, _ = run(strategy)
    table = result.table().set_index("trial_id", drop=False)
    told = {c["learning_rate"]: m for c, m in strategy.told}
    assert len(strategy.told) == len(told) == 18  # every asked configuration, once
    for _, row in table[table["status"] == "Completed"].iterrows():
        assert told[row["learning_rate"]] is not None
        assert told[row["learning_rate"]][METRIC] == pytest.approx(row["objective"])
        assert STOPPED_AT_POINT not in told[row["learning_rate"]]
    paused_for_good = [m for m in told.values() if m is not None and STOPPED_AT_POINT in m]
    assert paused_for_good  # the ones never promoted: told the value and point they reached
    assert all(m[STOPPED_AT_POINT] < EPOCHS for m in paused_for_good)


def test_promotion_without_a_checkpoint_location_is_refused_before_any_job() -> None:
    sim = simulator()
    with pytest.raises(JobDefinitionError, match="needs checkpoint_s3_uri"):
        byohpo.Tuner(
            template(),
            SPACE,
            backend=sim,
            objective=METRIC,
            store=MemoryEventLog(),
            early_stopping="asha",
            early_stopping_options=PROMOTE,
        )
    assert sum(sim.api_calls.values()) == 0


class Interrupting(Recorder):
    """Ctrl-C when asked for the ``interrupt_at``-th configuration; restorable."""

    def __init__(self, seed: int, interrupt_at: int | None) -> None:
        super().__init__(seed)
        self.interrupt_at = interrupt_at

    def ask(self, n: int) -> list[dict[str, Any]]:
        if self.interrupt_at is not None and len(self.asked) + n > self.interrupt_at:
            self.interrupt_at = None
            raise KeyboardInterrupt
        return super().ask(n)

    def snapshot(self) -> dict[str, Any]:
        return {"state": repr(self.rng.getstate()), "asked": self.asked}

    def restore(self, state: Mapping[str, Any]) -> None:
        import ast

        self.rng.setstate(ast.literal_eval(state["state"]))
        self.asked = list(state["asked"])


def test_a_resumed_study_promotes_as_the_uninterrupted_one_would(tmp_path: Path) -> None:
    whole, _ = run(Interrupting(3, None))
    sim = simulator()
    settings: dict[str, Any] = {
        "objective": METRIC,
        "max_jobs": 18,
        "max_parallel_jobs": 3,
        "mode": "async",
        "seed": 2,
        "study_name": "promote",
        "store": str(tmp_path / "promote"),
        "progress": False,
        "on_interrupt": "keep",
        "early_stopping": "asha",
        "early_stopping_options": PROMOTE,
    }
    job = template(checkpoint_s3_uri=CHECKPOINTS)
    byohpo.Tuner(job, SPACE, backend=sim, strategy=Interrupting(3, 10), **settings).run()
    resumed = byohpo.Tuner.resume(
        tmp_path / "promote",
        backend=sim.reattach(),
        strategy=Interrupting(3, None),
        progress=False,
    )
    table = resumed.table()
    # nothing paid twice: each job name once, each promotion of a paused job once
    assert table["job_name"].is_unique
    assert table["parent_id"].dropna().is_unique
    assert table["parent_id"].isna().sum() == 18
    assert table["parent_id"].notna().sum() > 0
    columns = ["learning_rate", "parent_id", "status", "stopped_at"]
    assert table[columns].equals(whole.table()[columns])  # the same pauses and promotions


def test_once_every_configuration_started_each_rungs_best_runs_to_the_end() -> None:
    # Six configurations: too few for floor(n/3) to promote anyone from the rung at 3 epochs;
    # once no new configuration will start, each rung's best goes on, so one job finishes.
    result, _ = run(max_jobs=6)
    table = result.table()
    assert table["parent_id"].isna().sum() == 6
    best = result.best()
    assert best["status"] == "Completed"
    chain = result.lineage(int(best["trial_id"]))
    assert len(chain) >= 2  # it got there through promotions
    assert chain["status"].iloc[:-1].eq("Stopped").all()


def test_a_study_file_with_promotion_and_no_checkpoint_location_exits_2_naming_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from byohpo.cli._main import main

    example = Path(__file__).resolve().parents[2] / "examples" / "digits-asha-promote.toml"
    text = example.read_text().replace('checkpoint_s3_uri = "s3://byohpo-demo/checkpoints"\n', "")
    text = text.replace(
        'source_dir = "../entry_points"', f'source_dir = "{example.parent.parent}/entry_points"'
    )
    path = tmp_path / "promote.toml"
    path.write_text(text)
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    status = main(["run", str(path), "--dry-run", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "early_stopping.promote" in err and "checkpoint_s3_uri" in err
    assert "Traceback" not in err
    assert not (tmp_path / "studies").exists() or not any((tmp_path / "studies").iterdir())
