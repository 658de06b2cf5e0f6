"""Warm start: a study starts from earlier studies' (and tuning jobs') completed trials."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.errors import UserError
from byohpo.study._store import Store
from byohpo.study._warm_start import recorded_warm_start
from tests.tuner.conftest import instant_fake, quadratic, study


def _metrics(hp: Mapping[str, Any]) -> dict[str, float]:
    """The quadratic problem, also for spaces that dropped or added parameters."""
    return quadratic({"x": 0.5, "y": 5, "kind": "b", **hp})


def _earlier(job: byohpo.TrainingJob, space: byohpo.SearchSpace, name: str = "earlier") -> Any:
    with instant_fake(metrics_fn=_metrics) as fake:
        return study(
            job, space, fake, name, strategy="random", max_jobs=12, max_parallel_jobs=4, seed=5
        ).run()


def _warm_event(name: str, studies: Path) -> dict[str, Any]:
    events = [e for e in Store(studies / name) if e["event"] == "warm_start"]
    assert len(events) == 1
    return events[0]


def test_a_warm_started_study_learns_from_the_earlier_one_without_paying_again(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    earlier = _earlier(job, space)
    cold_fake, warm_fake = instant_fake(metrics_fn=_metrics), instant_fake(metrics_fn=_metrics)
    options = {"strategy": "bo", "max_jobs": 4, "max_parallel_jobs": 2, "seed": 1}
    cold = study(job, space, cold_fake, "cold", **options).run()
    warm = study(job, space, warm_fake, "warm", warm_start=["earlier"], **options).run()

    # only the new study's own jobs were run and paid for
    assert warm_fake.aws.api_calls["CreateTrainingJob"] == 4
    assert len(warm.table()) == 4
    # the record says how many earlier trials were used, from which study
    event = _warm_event("warm", studies)
    assert event["sources"] == [
        {"source": "earlier", "kind": "study", "completed": 12, "used": 12, "left_out": {}}
    ]
    assert event["used"] == 12
    # its first proposals come from the model of the earlier results, not a space-filling
    # design: they beat the cold study's first ones, and the earlier study's best
    first = warm.table().sort_values("trial_id")["objective"].iloc[:2]
    cold_first = cold.table().sort_values("trial_id")["objective"].iloc[:2]
    assert first.mean() > cold_first.mean()
    assert warm.table()["objective"].max() >= earlier.table()["objective"].max() - 0.02


def test_a_population_strategy_breeds_its_first_generation_from_the_earlier_best(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    earlier = _earlier(job, space).table()
    best_four = earlier.nlargest(4, "objective")
    with instant_fake(metrics_fn=_metrics) as fake:
        warm = study(
            job, space, fake, "ga-warm", strategy="ga", strategy_options={"population_size": 4},
            max_jobs=4,
            max_parallel_jobs=4, seed=2, warm_start="earlier",
        ).run().table()  # fmt: skip
    # the first generation is offspring of the earlier best four: every value it tries
    # for y and kind is one of theirs (crossover recombines them), none is the worst's
    assert set(warm["kind"]) <= set(best_four["kind"])
    assert warm["objective"].mean() > earlier["objective"].mean()
    assert _warm_event("ga-warm", studies)["sources"][0]["used"] == 12


def test_a_changed_space_leaves_out_exactly_the_trials_that_no_longer_fit(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    earlier = _earlier(job, space).table()
    narrower = byohpo.SearchSpace(
        {
            "x": byohpo.Continuous(0.0, 0.5),  # narrower: trials above 0.5 are left out
            "y": byohpo.Integer(1, 10),
            # "kind" dropped: ignored; "depth" new with a single value: taken as that value
            "depth": byohpo.Static(3),
            "batch_size": byohpo.Static(32),
        }
    )
    with instant_fake(metrics_fn=_metrics) as fake:
        study(
            job, narrower, fake, "narrower", strategy="bo", max_jobs=2, max_parallel_jobs=2,
            seed=1, warm_start=["earlier"],
        ).run()  # fmt: skip
    inside = int((earlier["x"] <= 0.5).sum())
    assert 0 < inside < 12
    source = _warm_event("narrower", studies)["sources"][0]
    assert source["used"] == inside
    assert source["left_out"] == {"x outside its range in this study": 12 - inside}
    told = _warm_event("narrower", studies)["trials"]
    assert all(config["depth"] == 3 and "kind" not in config for config, _ in told)

    wider = byohpo.SearchSpace({**dict(space.items()), "lr": byohpo.Continuous(0.001, 0.1)})
    with instant_fake(metrics_fn=_metrics) as fake:
        study(
            job, wider, fake, "wider", strategy="bo", max_jobs=2, max_parallel_jobs=2, seed=1,
            warm_start=["earlier"],
        ).run()  # fmt: skip
    source = _warm_event("wider", studies)["sources"][0]
    assert source["used"] == 0
    assert source["left_out"] == {"no value for the new parameter lr": 12}


class _Counting:
    """A strategy of one's own that counts its warm starts and can be restored."""

    def __init__(self) -> None:
        self.warm_starts: list[int] = []
        self.results: list[float] = []
        self.asked = 0

    def warm_start(self, trials: Sequence[tuple[dict[str, Any], dict[str, float]]]) -> int:
        self.warm_starts.append(len(trials))
        self.results.extend(m["validation:accuracy"] for _, m in trials)
        return len(trials)

    def ask(self, n: int) -> list[dict[str, Any]]:
        self.asked += 1
        best = max(self.results) if self.results else 0.0
        return [{"x": round(min(best, 1.0), 3), "y": self.asked % 10 + 1, "kind": "b"}]

    def tell(self, config: dict[str, Any], metrics: dict[str, float] | None) -> None:
        if metrics is not None:
            self.results.append(metrics["validation:accuracy"])

    def snapshot(self) -> dict[str, Any]:
        return {"results": self.results, "asked": self.asked, "warm": self.warm_starts}

    def restore(self, state: Mapping[str, Any]) -> None:
        self.results, self.asked = list(state["results"]), int(state["asked"])
        self.warm_starts = list(state["warm"])


@pytest.mark.parametrize("strategy", ["bo", "ga", "own"])
def test_resume_does_not_tell_the_warm_start_twice(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path, strategy: str
) -> None:
    _earlier(job, space)
    given: Any = _Counting() if strategy == "own" else strategy
    options = {"population_size": 2} if strategy == "ga" else {}
    with instant_fake(metrics_fn=_metrics) as fake:
        first = study(
            job, space, fake, "resumed", strategy=given, max_jobs=6, max_parallel_jobs=2,
            seed=4, warm_start=["earlier"], strategy_options=options or None,
        ).run().table()  # fmt: skip
        log = studies / "resumed" / "events.jsonl"
        lines = log.read_text().splitlines()
        # cut the log as a crash would: after the second batch was asked
        asked = [i for i, line in enumerate(lines) if '"event":"asked"' in line]
        log.write_text("\n".join(lines[: asked[1] + 1]) + "\n")
        again = _Counting() if strategy == "own" else None
        resumed = byohpo.Tuner.resume("resumed", backend=fake, strategy=again, progress=False)
    # the resumed strategy made exactly the decisions of the uninterrupted one
    columns = ["trial_id", "x", "y", "kind"]
    assert resumed.table()[columns].equals(first[columns])
    assert recorded_warm_start(resumed.log) is not None
    assert len([e for e in resumed.log.events if e["event"] == "warm_start"]) == 1
    if again is not None:
        assert again.warm_starts == [12]  # restored from the checkpoint, never called again


def test_a_sagemaker_tuning_job_is_a_warm_start_source(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    with instant_fake(metrics_fn=_metrics) as fake:
        study(
            job, space, fake, "sm-parent", strategy="sagemaker:random", max_jobs=6,
            max_parallel_jobs=3, seed=2,
        ).run()  # fmt: skip
        tuning_job = next(
            e["name"] for e in Store(studies / "sm-parent") if e["event"] == "tuning_job"
        )
        warm = study(
            job, space, fake, "from-tuning", strategy="bo", max_jobs=2, max_parallel_jobs=2,
            seed=1, warm_start=[{"tuning_job": tuning_job}],
        ).run()  # fmt: skip
    assert len(warm.table()) == 2
    source = _warm_event("from-tuning", studies)["sources"][0]
    assert source == {
        "source": tuning_job, "kind": "tuning_job", "completed": 6, "used": 6, "left_out": {},
    }  # fmt: skip


@pytest.mark.parametrize(
    ("sources", "other_space", "match"),
    [
        (["no-such-study"], None, "must be an earlier study or a SageMaker tuning job that exists"),
        ([{"study": "no-such-study"}], None, "must be an earlier study that exists"),
        (["earlier"], {"lr": byohpo.Continuous(0.01, 0.1)}, "share a tuned parameter"),
        ([42], None, "warm_start takes earlier studies"),
    ],
)
def test_a_bad_warm_start_source_is_refused_before_any_job(
    job: byohpo.TrainingJob,
    space: byohpo.SearchSpace,
    studies: Path,
    sources: list[Any],
    other_space: dict[str, Any] | None,
    match: str,
) -> None:
    _earlier(job, space)
    with instant_fake(metrics_fn=_metrics) as fake:
        with pytest.raises(UserError, match=match):
            study(
                job, other_space or space, fake, "refused", strategy="bo", max_jobs=2,
                max_parallel_jobs=2, warm_start=sources,
            ).run()  # fmt: skip
        assert fake.aws.api_calls["CreateTrainingJob"] == 0
    assert not (studies / "refused" / "events.jsonl").exists()


def test_status_says_how_many_earlier_trials_were_used(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    from byohpo.cli._main import main

    _earlier(job, space)
    with instant_fake(metrics_fn=_metrics) as fake:
        study(
            job, space, fake, "told", strategy="bo", max_jobs=2, max_parallel_jobs=2,
            warm_start="earlier",
        ).run()  # fmt: skip
    capsys.readouterr()
    assert main(["status", "told"]) == 0
    out = capsys.readouterr().out
    assert "warm start from study earlier: 12 of 12 completed trials used" in out


def test_a_crash_before_the_first_checkpoint_resumes_with_the_warm_start(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    _earlier(job, space)
    with instant_fake(metrics_fn=_metrics) as fake:
        first = study(
            job, space, fake, "early-crash", strategy="bo", max_jobs=4, max_parallel_jobs=2,
            seed=4, warm_start=["earlier"],
        ).run().table()  # fmt: skip
        log = studies / "early-crash" / "events.jsonl"
        lines = log.read_text().splitlines()
        warm_line = next(i for i, line in enumerate(lines) if '"event":"warm_start"' in line)
        log.write_text("\n".join(lines[: warm_line + 1]) + "\n")  # no checkpoint, no job yet
        resumed = byohpo.Tuner.resume("early-crash", backend=fake, progress=False)
    columns = ["trial_id", "x", "y", "kind"]
    assert resumed.table()[columns].equals(first[columns])  # told again, exactly once


def test_a_simulated_study_warm_starts_from_an_earlier_simulated_one(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, studies: Path
) -> None:
    def simulator() -> byohpo.Simulator:
        return byohpo.Simulator(_metrics, duration=600, seed=0)

    options = {"max_parallel_jobs": 2, "seed": 3}
    study(job, space, simulator(), "sim-earlier", strategy="random", max_jobs=8, **options).run()
    with pytest.raises(UserError, match="no study log at"):
        study(job, space, simulator(), "sim-typo", strategy="bo", warm_start="sim-earlie").run()
    warm = study(
        job, space, simulator(), "sim-warm", strategy="bo", max_jobs=2, warm_start="sim-earlier",
        **options,
    ).run()  # fmt: skip
    assert len(warm.table()) == 2
    assert _warm_event("sim-warm", studies)["sources"][0]["used"] == 8
