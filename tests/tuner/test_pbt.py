"""Population based training on the fake: every step really starts from its parent's checkpoint."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.errors import JobDefinitionError, StrategyError
from byohpo.fake._faults import Faults
from byohpo.fake._training_jobs import LOG_GROUP
from byohpo.results import StudyResult
from byohpo.strategies import PopulationBasedTraining
from tests.tuner.conftest import ROLE

# A training script whose best learning rate falls as training goes on (0.1, halved every
# epoch). It keeps its state in its checkpoint directory, resumes from it, and fails when
# its job's name ends with one listed in fail.txt.
SCRIPT = """
import argparse, json, math, os, sys
from pathlib import Path

p = argparse.ArgumentParser()
p.add_argument("--learning_rate", type=float)
p.add_argument("--num_epoch", type=int)
p.add_argument("--width", type=int)
args = p.parse_args()
name = os.environ.get("TRAINING_JOB_NAME", "local")
directory = Path(os.environ["SM_CHECKPOINT_DIR"])
path = directory / "state.json"
state = {"epoch": 0, "accuracy": 0.0, "origin": None, "schedule": []}
if path.exists():
    state = json.loads(path.read_text())
    print(f"Resumed from checkpoint at epoch={state['epoch']} (origin={state['origin']})")
failing = Path(__file__).with_name("fail.txt")
if failing.exists() and any(name.endswith(s) for s in failing.read_text().split()):
    sys.exit("this job was told to fail")
directory.mkdir(parents=True, exist_ok=True)
for epoch in range(state["epoch"] + 1, args.num_epoch + 1):
    best = 0.1 * 0.5 ** (epoch - 1)
    gain = math.exp(-math.log10(args.learning_rate / best) ** 2)
    state["accuracy"] += (1.0 - state["accuracy"]) * 0.3 * gain
    state.update(epoch=epoch, origin=name)
    state["schedule"].append(args.learning_rate)
    path.write_text(json.dumps(state))
print(f"Validation-accuracy={state['accuracy']:.6f}")
"""

SPACE = byohpo.SearchSpace(
    {
        "learning_rate": byohpo.Continuous(1e-4, 0.4, scaling="log"),
        "num_epoch": byohpo.Integer(1, 12),
        "width": byohpo.Integer(1, 9),
    }
)
PBT = {"population_size": 4, "generations": 4, "step_parameter": "num_epoch", "step_size": 2}


@pytest.fixture
def source(tmp_path: Path) -> Path:
    directory = tmp_path / "src"
    directory.mkdir()
    (directory / "schedule.py").write_text(SCRIPT)
    return directory


def template(source: Path, **fields: Any) -> byohpo.TrainingJob:
    fields = {"checkpoint_s3_uri": "s3://pbt-tests/checkpoints", **fields}
    return byohpo.TrainingJob(
        entry_point="schedule.py",
        source_dir=str(source),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest",
        role=ROLE,
        instance_type="ml.m5.large",
        output_path="s3://pbt-tests/output",
        metric_definitions={"validation:accuracy": r"^Validation-accuracy=([0-9\.]+)"},
        **fields,
    )


def tuner(source: Path, fake: byohpo.FakeSageMaker, name: str, **options: Any) -> byohpo.Tuner:
    options = {
        "strategy": "pbt",
        "strategy_options": PBT,
        "max_jobs": 40,
        "max_parallel_jobs": 4,
        "seed": 1,
        "on_interrupt": "keep",
        **options,
    }
    return byohpo.Tuner(
        template(source),
        SPACE,
        objective="validation:accuracy",
        backend=fake,
        study_name=name,
        progress=False,
        **options,
    )


def fake_sagemaker() -> byohpo.FakeSageMaker:
    return byohpo.FakeSageMaker(min_poll_interval=0.02)


def job_log(fake: byohpo.FakeSageMaker, job_name: str) -> str:
    logs = fake.aws.session().client("logs")
    stream = fake.aws.job(job_name).log_stream
    events = logs.get_log_events(logGroupName=LOG_GROUP, logStreamName=stream)["events"]
    return "\n".join(event["message"] for event in events)


def events(result: StudyResult, kind: str) -> list[dict[str, Any]]:
    return [e for e in result.log.events if e.get("event") == kind]


def check_every_step_started_from_its_parent(
    result: StudyResult, fake: byohpo.FakeSageMaker
) -> None:
    """What the user relies on: lineage, recorded copies and the jobs' own logs agree."""
    table = result.table().set_index("trial_id", drop=False)
    copies = {e["trial_id"]: e for e in events(result, "checkpoint")}
    order = [(e["event"], e.get("trial_id")) for e in result.log.events]
    for trial in table.itertuples():
        tid = int(trial.trial_id)
        if trial.job_name is None or not isinstance(trial.job_name, str):
            continue  # answered from an earlier identical trial
        log = job_log(fake, trial.job_name)
        if pd_isna(trial.parent_id):
            assert tid not in copies
            assert "Resumed from checkpoint" not in log
            assert trial.num_epoch == (trial.generation + 1) * PBT["step_size"]
            continue
        parent = table.loc[int(trial.parent_id)]
        donor_job = parent["job_name"]
        if not isinstance(donor_job, str):  # the parent was a duplicate: its source ran
            donor_job = table.loc[int(parent["duplicate_of"]), "job_name"]
        assert parent["status"] == "Completed"
        assert trial.generation == parent["generation"] + 1
        assert trial.num_epoch == parent["num_epoch"] + PBT["step_size"]
        assert copies[tid]["source_job"] == donor_job
        assert copies[tid]["target_uri"].endswith("/" + trial.job_name)
        assert order.index(("checkpoint", tid)) < order.index(("submitted", tid))
        assert f"Resumed from checkpoint at epoch={parent['num_epoch']} (origin={donor_job})" in (
            log
        )


def pd_isna(value: object) -> bool:
    import pandas as pd

    return bool(pd.isna(value))


@pytest.mark.parametrize("mode", ["generational", "async"])
def test_each_step_continues_its_parents_checkpoint(source: Path, studies: Path, mode: str) -> None:
    with fake_sagemaker() as fake:
        result = tuner(source, fake, f"pbt-{mode}", mode=mode).run()
        check_every_step_started_from_its_parent(result, fake)
        created = fake.api_calls["CreateTrainingJob"]
    table = result.table()
    assert created == result.jobs_launched
    assert (table["status"] == "Completed").all()
    assert result.stop_reason == "the strategy proposed no more configurations"
    assert table["generation"].max() == 3
    # the population stays whole: every member has a step in the last generation
    assert (table["generation"] == 3).sum() == 4
    # the bottom quarter copied the top: a donor's checkpoint continued in two lineages
    assert table["parent_id"].value_counts().max() >= 2
    best = result.lineage()
    assert best["generation"].tolist() == [0, 1, 2, 3]
    assert best["num_epoch"].tolist() == [2, 4, 6, 8]
    assert best["parent_id"].isna().tolist() == [True, False, False, False]
    assert best["trial_id"].iloc[-1] == result.best()["trial_id"]


def test_a_failed_member_is_replaced_from_a_donor(source: Path, studies: Path) -> None:
    (source / "fail.txt").write_text("t00001 t00006\n")
    with fake_sagemaker() as fake:
        result = tuner(source, fake, "pbt-fail").run()
        check_every_step_started_from_its_parent(result, fake)
    table = result.table().set_index("trial_id")
    assert table.loc[[1, 6], "status"].tolist() == ["Failed", "Failed"]
    assert not table["parent_id"].isin([1, 6]).any()  # a failed job is never a parent
    assert (table.groupby("generation").size() == 4).all()  # nobody waited for a failure
    generation_after = table[table["generation"] == table.loc[1, "generation"] + 1]
    assert generation_after["parent_id"].notna().all()  # the failed member copied a donor


def test_lineage_of_a_trial_lists_its_schedule(source: Path, studies: Path) -> None:
    options = {**PBT, "mutable": ["learning_rate"]}
    with fake_sagemaker() as fake:
        result = tuner(source, fake, "pbt-lineage", mode="async", strategy_options=options).run()
        final = int(result.best()["trial_id"])
        chain = result.lineage(final)
        state = json.loads(
            fake.aws.session()
            .client("s3")
            .get_object(
                Bucket="pbt-tests",
                Key=f"checkpoints/{chain['job_name'].iloc[-1]}/state.json",
            )["Body"]
            .read()
        )
    # the schedule the model was trained with, epoch by epoch, is the lineage's learning rates
    assert state["schedule"] == [lr for lr in chain["learning_rate"] for _ in range(2)]
    table = result.table()
    for founder, lineage in table.groupby(table["trial_id"].map(result.founders())):
        assert lineage["width"].nunique() == 1, founder  # not mutable: fixed within a lineage
    assert result.founders()[final] == chain["trial_id"].iloc[0]


def test_a_study_without_checkpoint_storage_is_refused_before_any_job(
    source: Path, studies: Path
) -> None:
    with pytest.raises(JobDefinitionError, match="checkpoint_s3_uri"):
        byohpo.Tuner(
            template(source, checkpoint_s3_uri=None),
            SPACE,
            strategy="pbt",
            strategy_options=PBT,
            objective="validation:accuracy",
            backend=fake_sagemaker(),
            progress=False,
        )


def warm_started_job_running(strategy: PopulationBasedTraining) -> bool:
    """A member's step that starts from another's checkpoint is in flight."""
    members = strategy.snapshot()["members"]
    return any(m["status"] == "pending" and m["current"]["parent"] for m in members)


@pytest.mark.parametrize("mode", ["generational", "async"])
def test_a_study_interrupted_and_resumed_loses_no_checkpoint_and_no_lineage(
    source: Path, studies: Path, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_sagemaker() as fake:
        strategy = PopulationBasedTraining(**PBT)
        poll = fake.poll

        def ctrl_c_while_a_warm_started_job_runs(names: Any) -> Any:
            # The loop must poll a warm-started job to learn it ended: Ctrl-C lands there.
            if warm_started_job_running(strategy):
                monkeypatch.setattr(fake, "poll", poll)
                raise KeyboardInterrupt
            return poll(names)

        monkeypatch.setattr(fake, "poll", ctrl_c_while_a_warm_started_job_runs)
        first = tuner(
            source, fake, f"pbt-resume-{mode}", mode=mode, strategy=strategy, strategy_options=None
        ).run()
        assert not first.is_finished
        kept = first.log.interruptions[0]
        assert kept["jobs"] == "kept" and kept["in_flight"] > 0
        result = byohpo.Tuner.resume(
            f"pbt-resume-{mode}", backend=fake, on_interrupt="keep", progress=False
        )
        check_every_step_started_from_its_parent(result, fake)
        created = fake.api_calls["CreateTrainingJob"]
    table = result.table()
    assert result.is_finished
    assert created == result.jobs_launched == table["job_name"].notna().sum()
    assert table["job_name"].dropna().is_unique
    assert (table["status"] == "Completed").all()
    assert (table["generation"] == 3).sum() == 4  # every member trained to the end
    if mode == "generational":
        assert (table.groupby("generation").size() == 4).all()
    assert result.lineage()["generation"].tolist() == [0, 1, 2, 3]


def test_an_interruption_between_the_copy_and_the_launch_copies_again(
    source: Path, studies: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with fake_sagemaker() as fake:
        submit = fake.submit
        calls: list[int] = []

        def interrupted_submit(request: Any) -> str:
            calls.append(request.trial_id)
            if request.checkpoint_s3_uri is not None and len(calls) == 7:
                raise KeyboardInterrupt  # after the copy was recorded, before the job exists
            return submit(request)

        monkeypatch.setattr(fake, "submit", interrupted_submit)
        first = tuner(source, fake, "pbt-copy").run()
        cut = calls[-1]
        assert [e["trial_id"] for e in events(first, "checkpoint")][-1] == cut
        assert cut not in [e["trial_id"] for e in events(first, "submitted")]
        monkeypatch.setattr(fake, "submit", submit)
        result = byohpo.Tuner.resume("pbt-copy", backend=fake, progress=False)
        check_every_step_started_from_its_parent(result, fake)
    copies = [e["trial_id"] for e in events(result, "checkpoint")]
    assert copies.count(cut) == 2  # copied again before its job was created
    assert result.is_finished


class Continuer:
    """A strategy of a user's own: two founders, then each continues its own last trial."""

    warm_starts = True

    def __init__(self) -> None:
        self.told: list[byohpo.Suggestion] = []

    def ask(self, n: int) -> list[dict[str, Any]]:
        if not self.told and not hasattr(self, "founded"):
            self.founded = True
            return [
                byohpo.Suggestion({"learning_rate": lr, "num_epoch": 2, "width": 1})
                for lr in (0.05, 0.01)
            ]
        fresh: list[dict[str, Any]] = []
        while self.told and len(fresh) < n:
            last = self.told.pop(0)
            if last["num_epoch"] < 6:
                step = {**last, "num_epoch": last["num_epoch"] + 2}
                fresh.append(byohpo.Suggestion(step, parent=last.trial_id))
        return fresh

    def tell(self, config: byohpo.Suggestion, metrics: dict[str, float] | None) -> None:
        assert config.trial_id is not None  # the very object ask returned, with its trial id
        self.told.append(config)


def test_a_strategy_of_ones_own_warm_starts_jobs_with_suggestions(
    source: Path, studies: Path
) -> None:
    with fake_sagemaker() as fake:
        result = tuner(
            source, fake, "own-lineage", strategy=Continuer(), strategy_options=None, max_jobs=6
        ).run()
        check_every_step_started_from_its_parent(result, fake)
    table = result.table()
    assert table["parent_id"].iloc[:2].isna().all()
    assert sorted(table["parent_id"].iloc[2:].tolist()) == [0, 1, 2, 3]
    assert table["generation"].tolist() == [0, 0, 1, 1, 2, 2]  # each after its parent's
    assert sorted(result.lineage(t)["num_epoch"].tolist()[-1] for t in (4, 5)) == [6, 6]


class NamesAFailedParent(Continuer):
    def tell(self, config: byohpo.Suggestion, metrics: dict[str, float] | None) -> None:
        self.told.append(config)  # a failed trial too: the tuner must refuse it as a parent


def test_a_failed_trial_named_as_a_parent_stops_the_study_before_its_copy(
    source: Path, studies: Path
) -> None:
    (source / "fail.txt").write_text("t00000\n")
    with fake_sagemaker() as fake:
        study = tuner(
            source, fake, "bad-parent", strategy=NamesAFailedParent(), strategy_options=None
        )
        with pytest.raises(StrategyError, match="parent must be a trial that completed"):
            study.run()
    result = StudyResult.load(study.store.location)
    assert 0 not in [e["parent_id"] for e in events(result, "checkpoint")]
    assert not result.table()["parent_id"].eq(0).any()
    assert result.stop_reason is not None and "parent=0 (trial 0 is Failed)" in result.stop_reason


def test_a_parents_checkpoint_is_copied_once_even_when_sagemaker_has_no_capacity(
    source: Path, studies: Path
) -> None:
    faults = Faults(seed=3, capacity_error_rate=0.4)
    with byohpo.FakeSageMaker(min_poll_interval=0.02, faults=faults) as fake:
        result = tuner(source, fake, "pbt-capacity").run()
        check_every_step_started_from_its_parent(result, fake)
        refused = fake.aws.api_calls["CreateTrainingJob"] - result.jobs_launched
    copies = [e["trial_id"] for e in events(result, "checkpoint")]
    assert refused > 0 and events(result, "launch_limit")
    assert len(copies) == len(set(copies)) == int(result.table()["parent_id"].notna().sum())
