"""The PBT dry run of examples/digits-pbt.toml: the digits MLP really trains, step by step."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import byohpo
from byohpo.study_file import load_study_file
from tests.tuner.test_pbt import events, job_log

pytestmark = pytest.mark.slow

STUDY_FILE = Path(__file__).resolve().parents[2] / "examples" / "digits-pbt.toml"
RESUMED = re.compile(r"Resumed from checkpoint at epoch=(\d+) \(origin=([\w-]+)\)")


def test_a_population_of_six_trains_five_generations_from_the_study_file(
    studies: Path, tmp_path: Path
) -> None:
    study = load_study_file(STUDY_FILE)
    with byohpo.FakeSageMaker(min_poll_interval=0.05) as fake:
        result = study.make_tuner(backend=fake, progress=False).run()
        logs = {name: job_log(fake, name) for name in result.table()["job_name"].dropna()}
        created = fake.api_calls["CreateTrainingJob"]
    table = result.table().set_index("trial_id", drop=False)
    assert len(table) == 30  # six members, five generations (a repeat is answered for free)
    assert result.stop_reason in (
        "the strategy proposed no more configurations",
        "max_jobs reached (30 jobs)",
    )
    assert (table["status"] == "Completed").all()
    assert table.groupby("generation").size().tolist() == [6] * 5
    assert created == result.jobs_launched

    # every warm-started job restored its parent's last epoch, from the parent's own weights
    copies = {e["trial_id"]: e for e in events(result, "checkpoint")}
    for trial in table.itertuples():
        if not isinstance(trial.job_name, str):
            continue  # answered from an identical trial (same parent, same hyperparameters)
        resumed = RESUMED.findall(logs[trial.job_name])
        if pd.isna(trial.parent_id):
            assert resumed == [] and trial.num_epoch == 1
            continue
        parent = table.loc[int(trial.parent_id)]
        donor = parent["job_name"]
        if not isinstance(donor, str):  # the parent was answered from an identical trial
            donor = table.loc[int(parent["duplicate_of"]), "job_name"]
        assert resumed == [(str(parent["num_epoch"]), donor)]
        assert trial.num_epoch == parent["num_epoch"] + 1 == trial.generation + 1
        assert copies[int(trial.trial_id)]["source_job"] == donor
        # hidden_units is not mutable: it stays the founder's within a lineage
        assert trial.hidden_units == parent["hidden_units"]

    # the lineage table and plot say the same
    best = result.lineage()
    assert best["generation"].tolist() == [0, 1, 2, 3, 4]
    assert best["num_epoch"].tolist() == [1, 2, 3, 4, 5]
    assert best["trial_id"].iloc[-1] == result.best()["trial_id"]
    founders = result.founders()
    assert founders.nunique() <= 6 and set(founders) <= set(table.index[table["generation"] == 0])
    figure = result.plot_lineage()
    axes = figure.axes
    assert [ax.get_ylabel() for ax in axes] == [
        "validation:accuracy (maximize)",
        "learning_rate",
        "momentum",
    ]
    lines = [line for line in axes[0].lines if len(line.get_xdata()) == 2]
    assert len(lines) == int(table["parent_id"].notna().sum())
    figure.savefig(tmp_path / "lineage.png")
