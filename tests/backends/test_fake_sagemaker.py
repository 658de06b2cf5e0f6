"""FakeSageMaker: the production backend against the fake AWS, for dry runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from byohpo.errors import CapacityError, JobDefinitionError, MissingExtraError, UserError
from byohpo.trial import JobState, LaunchRequest

from .conftest import FAST_RETRIES, ROLE, script_job, write_script

pytest.importorskip("moto")

from byohpo.fake import FakeSageMaker, Faults

ENTRY_POINTS = Path(__file__).resolve().parents[2] / "entry_points"


def run_all(
    backend: FakeSageMaker, requests: list[LaunchRequest], parallel: int, timeout: float = 120
) -> dict[int, JobState]:
    """A simple refill loop: keep ``parallel`` jobs in flight until every trial has ended."""
    import time

    waiting = list(requests)
    in_flight: dict[str, int] = {}
    ended: dict[int, JobState] = {}
    deadline = time.monotonic() + timeout
    while waiting or in_flight:
        while waiting and len(in_flight) < parallel:
            request = waiting.pop(0)
            in_flight[backend.submit(request)] = request.trial_id
        for state in backend.poll(list(in_flight)):
            if state.status.is_terminal:
                ended[in_flight.pop(state.job_name)] = state
        assert time.monotonic() < deadline, f"still in flight: {sorted(in_flight)}"
        backend.clock.sleep(backend.min_poll_interval)
    return ended


@pytest.mark.slow
@pytest.mark.skipif(not (ENTRY_POINTS / "digits_mlp.py").exists(), reason="no digits script")
def test_twenty_digits_jobs_four_at_a_time_report_real_accuracies(tmp_path: Path) -> None:
    job = script_job(
        ENTRY_POINTS,
        entry_point="digits_mlp.py",
        metric_definitions={"validation:accuracy": r"Validation-accuracy=([0-9\.]+)"},
        hyperparameters={"num_epoch": 3},
    )
    requests = [
        LaunchRequest(
            trial,
            {
                "learning_rate": str(0.001 * (1 + trial)),
                "optimizer": "adam" if trial % 2 else "sgd",
                "hidden_units": str(8 + 4 * trial),
            },
        )
        for trial in range(1, 21)
    ]
    with FakeSageMaker(max_concurrent_jobs=4, min_poll_interval=0.3) as fake:
        fake.open("digits-mlp", job)
        ended = run_all(fake, requests, parallel=4)
        assert len(fake.aws.jobs()) == 20
        accuracies = {}
        for trial, state in ended.items():
            assert state.status.value == "Completed", state.failure_reason
            final = state.metrics["validation:accuracy"]
            curve = fake.read_curves(state.job_name)["validation:accuracy"]
            assert len(curve) == 4  # three epochs and the final line
            assert curve[-1][1] == final
            accuracies[trial] = final
    assert all(0.3 < a <= 1.0 for a in accuracies.values())
    assert len(set(accuracies.values())) > 10  # each configuration learns differently


def test_throttling_and_failing_jobs_lose_nothing(tmp_path: Path) -> None:
    job = script_job(write_script(tmp_path / "code"))
    faults = Faults(seed=7, throttle_rate=0.3, job_failure_rate=0.1)
    requests = [LaunchRequest(trial, {"acc": str(trial / 100)}) for trial in range(1, 51)]
    with FakeSageMaker(
        instant=True,
        metrics_fn=lambda hp: {"acc": float(hp["acc"])},
        faults=faults,
        retry=FAST_RETRIES,
        min_poll_interval=0.05,
        max_concurrent_jobs=10,
    ) as fake:
        fake.open("faulty", job)
        ended = run_all(fake, requests, parallel=10)
        seen_by_fake = fake.aws.api_calls
        jobs_in_fake = len(fake.aws.jobs())
    assert sorted(ended) == list(range(1, 51))
    assert jobs_in_fake == 50  # no twin, no loss
    failed = [s for s in ended.values() if s.status.value == "Failed"]
    completed = [s for s in ended.values() if s.status.value == "Completed"]
    assert failed and len(failed) + len(completed) == 50
    assert all(s.failure_reason for s in failed)
    assert all(s.metrics["acc"] == (s.trial_id or 0) / 100 for s in completed)
    assert sum(fake.throttled_calls.values()) > 0
    sagemaker_ops = {op: n for op, n in fake.api_calls.items() if op in seen_by_fake}
    assert sagemaker_ops == dict(seen_by_fake)  # every request counted once, retries included


def test_no_capacity_is_a_capacity_error_and_launches_nothing(tmp_path: Path) -> None:
    job = script_job(write_script(tmp_path / "code"))
    with FakeSageMaker(faults=Faults(capacity_error_rate=1.0)) as fake:
        fake.open("no-capacity", job)
        with pytest.raises(CapacityError, match="service limit") as refused:
            fake.submit(LaunchRequest(1, {}))
        assert (refused.value.operation, refused.value.code) == (
            "CreateTrainingJob",
            "ResourceLimitExceeded",
        )
        assert fake.aws.jobs() == []
        assert fake.api_calls["CreateTrainingJob"] == 1  # not retried: the tuner decides


def test_a_job_sagemaker_refuses_is_a_job_definition_error(tmp_path: Path) -> None:
    job = script_job(write_script(tmp_path / "code"))
    with FakeSageMaker(check_roles=True) as fake:  # the role does not exist in the fake
        fake.open("bad-role", job)
        with pytest.raises(JobDefinitionError, match="SageMaker must accept the training job"):
            fake.submit(LaunchRequest(1, {}))


def test_a_tuner_runs_the_fake_for_its_study_and_stops_it_after(tmp_path: Path) -> None:
    import byohpo

    job = script_job(write_script(tmp_path / "code"), output_path=None)
    fake = FakeSageMaker(instant=True, metrics_fn=lambda hp: {"acc": float(hp["x"])})
    tuner = byohpo.Tuner(
        job,
        byohpo.SearchSpace({"x": byohpo.Continuous(0.0, 1.0)}),
        strategy="random",
        objective="acc",
        max_jobs=3,
        max_parallel_jobs=3,
        backend=fake,  # no `with`: the tuner starts the fake for the run
        study_name="no-with",
        store=tmp_path / "store",
        progress=False,
    )
    result = tuner.run()
    assert not fake.active  # and stops it: later boto3 clients reach AWS, not the fake
    assert list(result.table()["status"]) == ["Completed"] * 3
    assert fake.output_prefix.startswith("s3://sagemaker-us-east-1-123456789012/byohpo/no-with")
    assert result.study["jobs_run_in"] == "fake-aws"  # what status and resume read


def test_a_stopped_fake_sends_nothing_anywhere(tmp_path: Path) -> None:
    fake = FakeSageMaker()
    with pytest.raises(UserError, match="must be started"):
        fake.open("stopped", script_job(write_script(tmp_path / "code")))
    assert fake.api_calls == {}


def test_a_fake_entered_twice_stops_only_at_the_outer_exit(tmp_path: Path) -> None:
    with FakeSageMaker() as fake:
        with fake:
            assert fake.active
        assert fake.active
    assert not fake.active


def test_a_dry_run_needs_no_setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("sagemaker", "sagemaker.image_uris", "sagemaker.core.image_uris"):
        monkeypatch.setitem(sys.modules, name, None)
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("1,2,3\n")
    job = script_job(
        write_script(tmp_path / "code"),
        image_uri=None,
        framework="sklearn",
        inputs={"train": "s3://other-bucket/digits/train"},
        checkpoint_s3_uri="s3://checkpoints/run",
    )
    inputs = {"s3://other-bucket/digits/train": data}
    with FakeSageMaker(inputs=inputs) as fake:
        fake.open("no-setup", job)
        name = fake.submit(LaunchRequest(1, {"acc": "0.8"}))
        fake.aws.wait(name)
        assert fake.poll([name])[0].metrics == {"acc": 0.8}
        session = fake.aws.session()
        s3: Any = session.client("s3")
        buckets = {b["Name"] for b in s3.list_buckets()["Buckets"]}
        sagemaker: Any = session.client("sagemaker")
        described = sagemaker.describe_training_job(TrainingJobName=name)
    assert {"byohpo-tests", "other-bucket", "checkpoints"} <= buckets
    image = described["AlgorithmSpecification"]["TrainingImage"]
    assert image == "byohpo-fake/sklearn:latest"  # no SDK to look the real one up


def test_the_code_is_uploaded_once_per_study(tmp_path: Path) -> None:
    job = script_job(write_script(tmp_path / "code"))
    with FakeSageMaker() as fake:
        fake.open("once", job)
        fake.open("once", job)  # a resumed study
        assert fake.api_calls["PutObject"] == 1
        assert fake.api_calls["HeadObject"] == 2


def test_byohpo_imports_no_moto_and_names_the_extra_when_it_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    code = "import sys, byohpo, byohpo.fake; byohpo.FakeSageMaker; print('moto' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    monkeypatch.setitem(sys.modules, "moto", None)
    with pytest.raises(MissingExtraError, match=r"pip install 'byohpo\[fake\]'"):
        FakeSageMaker().start()


def test_a_missing_input_is_refused_before_any_job(tmp_path: Path) -> None:
    job = script_job(write_script(tmp_path / "code"), inputs={"train": "s3://empty/train"})
    with FakeSageMaker() as fake, pytest.raises(JobDefinitionError, match="must hold data"):
        fake.open("empty-input", job)
    assert ROLE in job.role
