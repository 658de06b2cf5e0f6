"""A promoted job that fails for SageMaker's own reasons is retried as the same promotion.

Through the fake: a real script checkpoints every epoch and resumes from a checkpoint; the
first job that resumes fails once with an internal error. Its retry must start again from
the paused job's checkpoint, carry the chain (``parent_id``, ``lineage()``), go on with the
curve where the paused job stopped, and not count as a new configuration.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.fake._training_jobs import LOG_GROUP

pytestmark = pytest.mark.slow

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
METRIC = "validation:accuracy"
EPOCHS = 9

SCRIPT = """
import json, os, sys, time
from pathlib import Path

hps = json.loads(os.environ["SM_HPS"])
rate, epochs = float(hps["learning_rate"]), int(hps["num_epoch"])
directory = Path(os.environ["SM_CHECKPOINT_DIR"])
state = directory / "state.json"
epoch = 0
if state.exists():
    epoch = json.loads(state.read_text())["epoch"]
    print(f"Resumed from checkpoint at epoch={epoch}", flush=True)
    marker = Path(MARKER)
    if not marker.exists():  # the first job to resume loses its instance, once
        marker.write_text(os.environ["TRAINING_JOB_NAME"])
        failure = Path(os.environ["SM_OUTPUT_DIR"]) / "failure"
        failure.write_text("InternalServerError: the instance was lost")
        sys.exit(1)
directory.mkdir(parents=True, exist_ok=True)
for epoch in range(epoch + 1, epochs + 1):
    time.sleep(0.15)
    state.write_text(json.dumps({"epoch": epoch}))
    print(f"accuracy={rate * (1 - 0.5 ** epoch):.6f}", flush=True)
"""

SPACE = byohpo.SearchSpace(
    {
        "learning_rate": byohpo.Continuous(1e-3, 1.0, scaling="log"),
        "num_epoch": byohpo.Static(EPOCHS),
    }
)


class GoodFirst:
    """Two good configurations, then worse ones: the good ones are paused at the first rung
    (nothing to compare them with yet) and promoted once the worse ones get there."""

    supports_async = True

    def __init__(self) -> None:
        self.queue = [0.9, 0.8, 0.01, 0.005]
        self.told: list[tuple[dict[str, Any], dict[str, float] | None]] = []

    def ask(self, n: int) -> list[dict[str, Any]]:
        batch, self.queue = self.queue[:n], self.queue[n:]
        return [{"learning_rate": rate, "num_epoch": EPOCHS} for rate in batch]

    def tell(self, config: Mapping[str, Any], metrics: Mapping[str, float] | None) -> None:
        self.told.append((dict(config), None if metrics is None else dict(metrics)))


def job_log(fake: byohpo.FakeSageMaker, job_name: str) -> str:
    logs = fake.aws.session().client("logs")
    stream = fake.aws.job(job_name).log_stream
    events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)["events"]
    return "\n".join(event["message"] for event in events)


def test_a_failed_promotion_is_retried_from_the_same_paused_checkpoint(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    marker = tmp_path / "lost-instance"
    (source / "train.py").write_text(SCRIPT.replace("MARKER", repr(str(marker))))
    job = byohpo.TrainingJob(
        entry_point="train.py",
        source_dir=str(source),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role=ROLE,
        instance_type="ml.m5.large",
        output_path="s3://retry-tests/output",
        checkpoint_s3_uri="s3://retry-tests/checkpoints",
        metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
    )
    strategy = GoodFirst()
    with byohpo.FakeSageMaker(min_poll_interval=0.05) as fake:
        result = byohpo.Tuner(
            job,
            SPACE,
            strategy=strategy,
            objective=METRIC,
            backend=fake,
            max_jobs=4,
            max_parallel_jobs=1,
            mode="async",
            study_name="promotion-retry",
            store=str(tmp_path / "store"),
            progress=False,
            early_stopping="asha",
            early_stopping_options={
                "grace_period": 1,
                "reduction_factor": 3,
                "promote": True,
                "read_interval": 0,
            },
        ).run()
        table = result.table().set_index("trial_id", drop=False)
        failed_job = marker.read_text()
        failed = table[table["job_name"] == failed_job].iloc[0]
        retry = table[table["retry_of"] == failed["trial_id"]].iloc[0]
        retry_log = job_log(fake, retry["job_name"])

    # the failed job was a promotion; its retry continues the same paused job
    assert failed["status"] == "Failed" and "InternalServerError" in failed["failure_reason"]
    paused = table.loc[int(failed["parent_id"])]
    assert paused["status"] == "Stopped" and "paused at rung" in paused["stopping_reason"]
    assert retry["parent_id"] == paused["trial_id"]
    assert retry["status"] in ("Completed", "Stopped")  # run on, or paused at a higher rung
    assert retry["learning_rate"] == paused["learning_rate"]
    # its job really started from the paused job's checkpoint, at the epoch it reached
    curves = result.learning_curves()
    reached = int(curves.query(f"trial_id == {int(paused['trial_id'])}")["point"].max())
    resumed = re.search(r"Resumed from checkpoint at epoch=(\d+)", retry_log)
    assert resumed is not None, retry_log[-2000:]
    assert int(resumed.group(1)) >= reached
    points = curves.query(f"trial_id == {int(retry['trial_id'])}")["point"].tolist()
    assert points and points[0] == reached + 1  # the chain's curve goes on, not from 1
    copies = [e for e in result.log.events if e.get("event") == "checkpoint"]
    assert any(
        e["trial_id"] == retry["trial_id"] and e["source_job"] == paused["job_name"] for e in copies
    )
    # the lineage of the retry runs through the paused job to the configuration's first trial
    chain = result.lineage(int(retry["trial_id"]))["trial_id"].tolist()
    assert chain[-2:] == [int(paused["trial_id"]), int(retry["trial_id"])]
    # the retry is the same promotion: not a new configuration, told once with the chain's end
    assert len(table[table["parent_id"].isna() & table["retry_of"].isna()]) == 4
    told_rates = [config["learning_rate"] for config, _ in strategy.told]
    assert sorted(told_rates) == sorted([0.9, 0.8, 0.01, 0.005])
