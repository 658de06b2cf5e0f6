"""The dry run of examples/digits-asha-promote.toml: paused digits jobs resume from checkpoints."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.study_file import load_study_file

pytestmark = pytest.mark.slow

STUDY_FILE = Path(__file__).resolve().parents[2] / "examples" / "digits-asha-promote.toml"


GOOD = [
    {"learning_rate": 0.01, "hidden_units": 64, "optimizer": "adam"},
    {"learning_rate": 0.003, "hidden_units": 32, "optimizer": "adam"},
]
BAD = {"learning_rate": 1e-5, "hidden_units": 4, "optimizer": "sgd"}


class GoodFirst:
    """Two good configurations, then bad ones: the good ones are paused (nothing to compare
    them with yet at their rung) and promoted once the bad ones arrive there."""

    supports_async = True

    def __init__(self) -> None:
        self.queue = [*GOOD, *[BAD | {"hidden_units": 4 + i} for i in range(2)]]

    def ask(self, n: int) -> list[dict[str, Any]]:
        batch, self.queue = self.queue[:n], self.queue[n:]
        return [c | {"num_epoch": 27, "batch_size": 16} for c in batch]

    def tell(self, config: Mapping[str, Any], metrics: Mapping[str, float] | None) -> None:
        pass


@pytest.fixture
def studies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "studies"
    monkeypatch.setenv("BYOHPO_STUDIES", str(root))
    return root


def test_a_paused_digits_job_resumes_from_its_checkpoint_at_the_epoch_it_reached(
    studies: Path,
) -> None:
    study = load_study_file(STUDY_FILE)
    with byohpo.FakeSageMaker(min_poll_interval=0.05) as fake:
        tuner = study.make_tuner(
            backend=fake, progress=False, strategy=GoodFirst(), max_jobs=4, max_parallel_jobs=1
        )
        result = tuner.run()
        in_the_fake = {job.name: job.status for job in fake.aws.jobs()}
        logs = fake.aws.session().client("logs")
        table = result.table().set_index("trial_id", drop=False)
        promoted = table[table["parent_id"].notna()]
        assert len(promoted) >= 1
        curves = result.learning_curves()
        for tid, row in promoted.iterrows():
            parent = table.loc[int(row["parent_id"])]
            assert parent["status"] == "Stopped"
            assert in_the_fake[parent["job_name"]] == "Stopped"
            assert "paused at rung" in parent["stopping_reason"]
            # the last point the paused job's chain reached (a promoted parent's go on from its own)
            reached = int(curves.query(f"trial_id == {int(parent['trial_id'])}")["point"].max())
            # the real script found the paused job's checkpoint and trained only what was left
            stream = fake.aws.job(row["job_name"]).log_stream
            events = logs.get_log_events(
                logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=True
            )["events"]
            log = "\n".join(e["message"] for e in events)
            resumed = re.search(r"Resumed from checkpoint at epoch=(\d+) ", log)
            assert resumed is not None, log[-2000:]
            # At least the points the study read; more when the job trained on while its stop
            # was on its way (a slow machine), never fewer: no epoch is trained twice.
            assert int(resumed.group(1)) >= reached
            assert row["learning_rate"] == parent["learning_rate"]
            points = curves.query(f"trial_id == {tid}")["point"].tolist()
            assert points[0] == reached + 1
