"""Simulator(curve, epochs=..., duration=...): jobs that print a metric after every epoch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pytest

import byohpo
from byohpo.errors import UserError
from byohpo.simulator import Simulator, StartupModel
from byohpo.trial import JobStatus, LaunchRequest

METRIC = "validation:accuracy"
NO_STARTUP = StartupModel(cold_seconds=0, warm_seconds=0, sigma=0, upload_seconds=0)


def template() -> byohpo.TrainingJob:
    return byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://my-bucket/studies",
        metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
    )


def curve(hp: Mapping[str, Any], epoch: int) -> dict[str, float]:
    return {METRIC: 1.0 - 0.5 / epoch, "ignored": 1.0}


def test_a_job_logs_one_point_per_epoch_spread_over_its_duration() -> None:
    sim = Simulator(curve, epochs=lambda hp: hp["num_epoch"], duration=1000, startup=NO_STARTUP)
    sim.open("curves", template())
    name = sim.submit(LaunchRequest(0, {"num_epoch": "4"}))
    sim.clock.sleep(600)
    assert sim.read_curves(name) == {METRIC: [(250.0, 0.5), (500.0, 0.75)]}
    sim.clock.sleep(500)
    state = sim.poll([name])[0]
    assert state.status is JobStatus.COMPLETED
    assert state.metrics == {METRIC: 0.875}  # the last epoch's value; only defined metrics
    assert sim.read_curves(name)[METRIC][-1] == (1000.0, 0.875)


def test_a_stopped_job_is_billed_to_its_stop_plus_the_stop_delay_and_keeps_its_last_value() -> None:
    sim = Simulator(curve, epochs=10, duration=1000, startup=NO_STARTUP, seed=0)
    sim.open("stopped", template())
    name = sim.submit(LaunchRequest(0, {"num_epoch": "10"}))
    sim.clock.sleep(350)
    sim.stop(name)
    assert sim.poll([name])[0].status is JobStatus.STOPPING
    sim.clock.sleep(60)
    state = sim.poll([name])[0]
    assert state.status is JobStatus.STOPPED
    assert state.billable_seconds == 350 + StartupModel().stop_seconds
    assert state.metrics == {METRIC: 1.0 - 0.5 / 3}  # three epochs were done at 350 s


@pytest.mark.parametrize(
    ("epochs", "message"),
    [(0, "epochs is a whole number >= 1"), (2.5, "epochs is a whole number >= 1")],
)
def test_bad_epochs_are_refused(epochs: object, message: str) -> None:
    with pytest.raises(UserError, match=message):
        Simulator(curve, epochs=epochs, duration=100)  # type: ignore[arg-type]


def test_a_curve_that_raises_fails_the_job_at_that_epoch() -> None:
    def crashing(hp: Mapping[str, Any], epoch: int) -> dict[str, float]:
        if epoch == 3:
            raise RuntimeError("diverged")
        return {METRIC: 0.1 * epoch}

    sim = Simulator(crashing, epochs=5, duration=500, startup=NO_STARTUP)
    sim.open("crash", template())
    name = sim.submit(LaunchRequest(0, {}))
    sim.clock.sleep(1000)
    state = sim.poll([name])[0]
    assert state.status is JobStatus.FAILED
    assert state.failure_reason is not None and "diverged" in state.failure_reason
    assert state.billable_seconds == 300  # failed during its third epoch
