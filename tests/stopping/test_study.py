"""Early stopping in a whole study, in the simulator: what is stopped, billed, told and shown."""

from __future__ import annotations

import math
import random
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.errors import JobDefinitionError, StudyFileError, UserError
from byohpo.simulator import Simulator, StartupModel
from byohpo.stopping import CurvePoint
from byohpo.study._early_stopping import STOPPED_AT_POINT
from byohpo.study._store import MemoryEventLog
from byohpo.study_file import load_study_file

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
METRIC = "validation:accuracy"
NO_STARTUP = StartupModel(cold_seconds=0, warm_seconds=0, sigma=0, upload_seconds=0)
EPOCHS = 9
SPACE = byohpo.SearchSpace(
    {
        "learning_rate": byohpo.Continuous(1e-4, 1e-1, scaling="log"),
        "num_epoch": byohpo.Static(EPOCHS),
    }
)


def template(**changes: Any) -> byohpo.TrainingJob:
    fields: dict[str, Any] = {
        "entry_point": None,
        "image_uri": "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        "role": ROLE,
        "instance_type": "ml.m5.large",
        "output_path": "s3://my-bucket/studies",
        "metric_definitions": {METRIC: r"accuracy=([0-9\.]+)", "loss": r"loss=([0-9\.]+)"},
    }
    fields.update(changes)
    return byohpo.TrainingJob(**fields)


def curve(hp: Mapping[str, Any], epoch: int) -> dict[str, float]:
    """Accuracy rises towards a ceiling set by the learning rate (best near 10**-2.5)."""
    ceiling = 1.0 - (math.log10(hp["learning_rate"]) + 2.5) ** 2 / 10
    return {METRIC: ceiling * (1 - 0.5**epoch)}


class Recorder:
    """A strategy of the user's own: random configurations, and a note of every tell."""

    supports_async = True

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)
        self.told: list[tuple[dict[str, Any], Mapping[str, float] | None]] = []

    def ask(self, n: int) -> list[dict[str, Any]]:
        return [
            {"learning_rate": 10 ** self.rng.uniform(-4, -1), "num_epoch": EPOCHS} for _ in range(n)
        ]

    def tell(self, config: Mapping[str, Any], metrics: Mapping[str, float] | None) -> None:
        self.told.append((dict(config), None if metrics is None else dict(metrics)))


def run(rule: object, *, options: dict[str, Any] | None = None, **settings: Any) -> Any:
    sim = Simulator(curve, epochs=EPOCHS, duration=900.0, startup=NO_STARTUP, seed=3)
    args: dict[str, Any] = {
        "strategy": "random",
        "objective": METRIC,
        "max_jobs": 24,
        "max_parallel_jobs": 4,
        "seed": 2,
        "study_name": "stop",
        "progress": False,
        "store": MemoryEventLog(),
        "early_stopping": rule,
        "early_stopping_options": options,
    }
    args.update(settings)
    tuner = byohpo.Tuner(template(), SPACE, backend=sim, **args)
    return tuner.run(), sim


def test_asha_stops_jobs_which_end_stopped_billed_only_up_to_the_stop() -> None:
    result, _ = run("asha", options={"read_interval": 0})
    table = result.table()
    stopped = table[table["stopped_by"] == "asha"]
    assert len(stopped) >= 8
    assert set(stopped["status"]) == {"Stopped"}
    assert set(stopped["stopped_at"]) <= {1, 3}  # rungs at 1 and 3 epochs (9 is the end)
    assert all("rung" in reason for reason in stopped["stopping_reason"])
    full = table[table["status"] == "Completed"]["billable_seconds"]
    assert full.min() >= 900
    # Stopped at epoch 1 or 3 of 9: billed a third of a job or less, plus the stop delay.
    assert (stopped["billable_seconds"] <= 900 * 3 / 9 + 15 + 60).all()
    assert table[table["stopped_by"].isna()]["stopped_at"].isna().all()
    # A Stopping job holds its slot until it is Stopped: never more than 4 jobs billed at once.
    spans = list(zip(table["start_time"], table["end_time"], strict=True))
    for start, _ in spans:
        assert sum(s <= start < e for s, e in spans) <= 4
    assert result.best()["status"] == "Completed"


def test_without_a_rule_every_job_runs_to_the_end_and_costs_more() -> None:
    with_asha, _ = run("asha", options={"read_interval": 0}, strategy=Recorder())
    without, _ = run(None, strategy=Recorder())
    assert set(without.table()["status"]) == {"Completed"}
    assert without.table()["stopped_by"].isna().all()
    assert (
        with_asha.table()["billable_seconds"].sum()
        < 0.5 * without.table()["billable_seconds"].sum()
    )


def test_the_strategy_is_told_the_value_reached_and_the_point_of_a_stopped_job() -> None:
    strategy = Recorder()
    result, _ = run("median", options={"read_interval": 0}, strategy=strategy)
    table = result.table().set_index("trial_id")
    stopped = table[table["stopped_by"] == "median"]
    assert len(stopped) > 0
    told_partial = [m for _, m in strategy.told if m is not None and STOPPED_AT_POINT in m]
    assert len(told_partial) == len(stopped)
    for metrics in told_partial:
        assert 1 <= metrics[STOPPED_AT_POINT] < EPOCHS
        assert 0 <= metrics[METRIC] < 1
    assert all(m is not None for _, m in strategy.told)  # nothing told as a failure


def test_learning_curves_are_kept_compactly_and_complete() -> None:
    result, sim = run("asha", options={"read_interval": 120})
    curves = result.learning_curves()
    table = result.table().set_index("trial_id")
    assert list(curves.columns) == ["trial_id", "metric", "point", "seconds", "value"]
    for tid, points in curves.groupby("trial_id"):
        assert list(points["point"]) == list(range(1, len(points) + 1))  # no point twice
        if table.loc[tid, "status"] == "Completed":
            assert len(points) == EPOCHS  # the last read after the end completes the curve
    # Reading every 120 s of a 900 s job: about 8 reads per job, plus the last one.
    per_job = sim.api_calls["GetLogEvents"] / len(table)
    assert per_job <= 10


def test_a_user_rule_with_one_method_stops_jobs_and_says_why() -> None:
    class Threshold:
        def decide(self, point: CurvePoint) -> bool:
            return point.point >= 2 and point.value < 0.7

    result, _ = run(Threshold(), options=None)
    table = result.table()
    stopped = table[table["stopped_by"] == "Threshold"]
    assert len(stopped) > 0 and set(stopped["stopped_at"]) == {2}
    assert (stopped["stopping_reason"] == "Threshold said stop").all()


def test_a_script_that_never_prints_the_metric_is_not_stopped_blindly(
    capsys: pytest.CaptureFixture[str],
) -> None:
    sim = Simulator(
        lambda hp: {METRIC: 0.5}, duration=300.0, startup=NO_STARTUP, seed=1
    )  # final metrics only: no curve
    result = byohpo.Tuner(
        template(),
        SPACE,
        backend=sim,
        objective=METRIC,
        max_jobs=6,
        max_parallel_jobs=2,
        study_name="blind",
        store=MemoryEventLog(),
        early_stopping="asha",
        early_stopping_options={"read_interval": 0},
    ).run()
    assert set(result.table()["status"]) == {"Completed"}
    out = capsys.readouterr().out
    assert "without printing one intermediate value" in out and out.count("intermediate") == 1


@pytest.mark.parametrize(
    ("rule", "options", "error", "message"),
    [
        ("asha", {"metric": "nope"}, JobDefinitionError, "metric definitions"),
        ("asha", {"metric": "loss"}, UserError, "one of the study's objectives"),
        ("asha", {"grace_period": 9}, UserError, "grace_period must be below the job's epochs"),
        ("median", {"grace_period": 12}, UserError, "num_epoch of at most 9"),
        ("ASHA-ish", {}, UserError, "Did you mean 'asha'"),
        ("asha", {"read_interval": -1}, UserError, "read_interval"),
        (None, {"grace_period": 2}, UserError, "need an early_stopping rule"),
    ],
)
def test_bad_early_stopping_is_refused_before_any_job(
    rule: object, options: dict[str, Any], error: type[Exception], message: str
) -> None:
    sim = Simulator(curve, epochs=EPOCHS, duration=900.0, startup=NO_STARTUP, seed=3)
    with pytest.raises(error, match=message):
        byohpo.Tuner(
            template(),
            SPACE,
            backend=sim,
            objective=METRIC,
            store=MemoryEventLog(),
            early_stopping=rule,
            early_stopping_options=options,
        )
    assert sim.api_calls["CreateTrainingJob"] == 0


def test_early_stopping_with_population_based_training_is_refused() -> None:
    sim = Simulator(curve, epochs=EPOCHS, duration=900.0, startup=NO_STARTUP, seed=3)
    with pytest.raises(UserError, match="does not combine with a strategy that starts jobs"):
        byohpo.Tuner(
            template(checkpoint_s3_uri="s3://my-bucket/checkpoints"),
            byohpo.SearchSpace(
                {
                    "learning_rate": byohpo.Continuous(1e-4, 1e-1, scaling="log"),
                    "num_epoch": byohpo.Integer(1, 9),
                }
            ),
            backend=sim,
            strategy="pbt",
            strategy_options={"population_size": 4, "step_parameter": "num_epoch"},
            objective=METRIC,
            store=MemoryEventLog(),
            early_stopping="median",
        )


def test_hyperband_takes_max_points_from_the_epochs_hyperparameter() -> None:
    result, _ = run("hyperband", options={"read_interval": 0})
    table = result.table()
    assert (table["stopped_by"] == "hyperband").any()
    assert result.log.study["early_stopping_options"]["max_points"] == EPOCHS


STUDY_FILE = """
[study]
name = "es"
strategy = "random"
max_jobs = 4
max_parallel_jobs = 2
early_stopping = "asha"

[early_stopping]
{options}

[objective]
metric = "validation:accuracy"

[job]
entry_point = "train.py"
source_dir = "."
image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1"
role = "arn:aws:iam::123456789012:role/SageMakerRole"
output_path = "s3://my-bucket/out"

[job.metric_definitions]
"validation:accuracy" = 'accuracy=([0-9\\.]+)'

[space]
learning_rate = {{ type = "continuous", min = 1e-4, max = 0.1, scaling = "log" }}
num_epoch = {{ type = "integer", min = 2, max = 6 }}
"""


def test_a_study_file_takes_the_rule_and_its_options_table(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("print('accuracy=0.5')\n")
    path = tmp_path / "es.toml"
    path.write_text(STUDY_FILE.format(options="grace_period = 2\nreduction_factor = 2"))
    args = load_study_file(path).tuner_args
    assert args["early_stopping"] == "asha"
    assert args["early_stopping_options"] == {"grace_period": 2, "reduction_factor": 2}


@pytest.mark.parametrize(
    ("options", "key", "message"),
    [
        ("grace_period = 6", "early_stopping.grace_period", "num_epoch of at most 6"),
        ("rungs = 3", "early_stopping.rungs", "takes the options"),
        ('metric = "train:loss"', "early_stopping.metric", "metric definitions"),
    ],
)
def test_a_study_files_bad_early_stopping_names_the_key(
    tmp_path: Path, options: str, key: str, message: str
) -> None:
    (tmp_path / "train.py").write_text("print('accuracy=0.5')\n")
    path = tmp_path / "es.toml"
    path.write_text(STUDY_FILE.format(options=options))
    with pytest.raises(StudyFileError, match=message) as caught:
        load_study_file(path)
    assert key in str(caught.value)


def test_the_learning_curve_plot_marks_each_stop_and_the_report_shows_it(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    result, _ = run("asha", options={"read_interval": 0})
    table = result.table()
    figure = result.plot_learning_curves()
    ax = figure.axes[0]
    crosses = [c for c in ax.collections if c.get_label() == "stopped"]
    assert len(crosses) == 1
    assert len(ax.lines) == table["trial_id"].nunique()  # one curve per trial
    stops = [tuple(xy) for c in ax.collections for xy in c.get_offsets()]
    assert len(stops) == int(table["stopped_by"].notna().sum())
    assert {int(x) for x, _ in stops} == set(table["stopped_at"].dropna().astype(int))
    html = result.write_report(tmp_path / "report.html").read_text()
    assert 'alt="Learning curves"' in html
    for reason in table["stopping_reason"].dropna():
        assert reason.split(" (")[0] in html  # the table in the report says why


def test_a_study_without_early_stopping_has_no_curve_to_plot() -> None:
    pytest.importorskip("matplotlib")
    result, _ = run(None)
    assert result.learning_curves().empty
    with pytest.raises(UserError, match="needs the curves early stopping reads"):
        result.plot_learning_curves()


class Interrupting:
    """Proposes fixed configurations; Ctrl-C when asked for the one at ``interrupt_at``."""

    supports_async = True

    def __init__(self, rates: list[float], interrupt_at: int | None = None) -> None:
        self.rates = list(rates)
        self.given = 0
        self.interrupt_at = interrupt_at

    def ask(self, n: int) -> list[dict[str, Any]]:
        if self.given == self.interrupt_at:
            self.interrupt_at = None
            raise KeyboardInterrupt
        batch = self.rates[self.given : self.given + n]
        self.given += len(batch)
        return [{"learning_rate": r, "num_epoch": EPOCHS} for r in batch]

    def tell(self, config: Mapping[str, Any], metrics: Mapping[str, float] | None) -> None:
        pass

    def snapshot(self) -> dict[str, Any]:
        return {"rates": self.rates, "given": self.given}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.rates, self.given = list(state["rates"]), int(state["given"])


def test_a_resumed_study_remembers_the_curves_its_rule_has_seen(tmp_path: Path) -> None:
    good = [10**-2.4, 10**-2.5]  # the second better: ASHA would stop a worse one
    bad = [10**-4.0, 10**-3.9, 10**-3.8, 10**-3.7]
    sim = Simulator(curve, epochs=EPOCHS, duration=900.0, startup=NO_STARTUP, seed=3)
    settings: dict[str, Any] = {
        "objective": METRIC,
        "max_jobs": 6,
        "max_parallel_jobs": 2,
        "mode": "async",
        "study_name": "resumed",
        "store": str(tmp_path / "resumed"),
        "progress": False,
        "on_interrupt": "keep",
        "early_stopping": "asha",
        "early_stopping_options": {"read_interval": 0},
    }
    first = Interrupting([*good, *bad], interrupt_at=2)
    byohpo.Tuner(template(), SPACE, backend=sim, strategy=first, **settings).run()
    # Only the two good jobs ran before Ctrl-C (their curves were read); the bad ones come
    # after the resume. Without the good ones' points, the first bad job would be alone at
    # rung 1 and go on; with them, every bad job is stopped there.
    rest = Interrupting([])  # restored from its snapshot: the bad ones are next
    result = byohpo.Tuner.resume(
        tmp_path / "resumed", backend=sim.reattach(), strategy=rest, progress=False
    )
    table = result.table()
    assert list(table["status"]) == ["Completed"] * 2 + ["Stopped"] * 4
    assert len(result.learning_curves().query("trial_id < 2")) == 2 * EPOCHS
    assert list(table["stopped_at"].iloc[2:]) == [1] * 4


def test_resuming_a_study_with_a_users_rule_asks_for_the_rule(tmp_path: Path) -> None:
    class Never:
        def decide(self, point: CurvePoint) -> bool:
            return False

    sim = Simulator(curve, epochs=EPOCHS, duration=900.0, startup=NO_STARTUP, seed=3)
    byohpo.Tuner(
        template(),
        SPACE,
        backend=sim,
        objective=METRIC,
        max_jobs=2,
        max_parallel_jobs=2,
        study_name="own-rule",
        store=str(tmp_path / "own-rule"),
        progress=False,
        early_stopping=Never(),
    ).run()
    with pytest.raises(UserError, match=r"resuming it needs that rule again.*early_stopping=Never"):
        byohpo.Tuner.resume(tmp_path / "own-rule", backend=sim.reattach(), progress=False)
    result = byohpo.Tuner.resume(
        tmp_path / "own-rule", backend=sim.reattach(), progress=False, early_stopping=Never()
    )
    assert len(result.table()) == 2
