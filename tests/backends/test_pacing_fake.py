"""The production backend against the fake AWS: a burst of submits is paced, and a
ThrottlingException from AWS is absorbed (retried, and the API slowed down)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from byohpo._clock import VirtualClock
from byohpo.backends._rates import Rate, RequestPacer, RequestRates
from byohpo.trial import LaunchRequest

from .conftest import FAST_RETRIES, script_job, write_script

pytest.importorskip("moto")

from byohpo.fake import FakeSageMaker, Faults

RATES = RequestRates({"CreateTrainingJob": Rate(per_second=1.0, burst=3)})


def fake(**options: Any) -> FakeSageMaker:
    return FakeSageMaker(
        instant=True,
        metrics_fn=lambda hp: {"acc": float(hp["acc"])},
        retry=FAST_RETRIES,
        max_concurrent_jobs=20,
        **options,
    )


def test_a_burst_of_submits_goes_out_at_the_rate(tmp_path: Path) -> None:
    clock = VirtualClock()  # the pacer waits in virtual time: the test never sleeps
    requests = [LaunchRequest(trial, {"acc": "0.5"}) for trial in range(12)]
    with fake() as backend:
        backend.pacer = RequestPacer(RATES, clock)
        backend.open("burst", script_job(write_script(tmp_path / "code")))
        sent_at = []
        for request in requests:
            backend.submit(request)
            sent_at.append(clock.monotonic())
        jobs = len(backend.aws.jobs())
    start = sent_at[0]
    assert [t - start for t in sent_at] == pytest.approx([0, 0, 0, *range(1, 10)])
    assert jobs == 12
    assert backend.api_calls["CreateTrainingJob"] == 12
    assert sum(backend.throttled_calls.values()) == 0


def test_throttling_from_aws_is_absorbed_and_slows_the_api(tmp_path: Path) -> None:
    clock = VirtualClock()
    faults = Faults(seed=3, throttle_rate=0.4, throttle_operations=frozenset({"CreateTrainingJob"}))
    requests = [LaunchRequest(trial, {"acc": "0.5"}) for trial in range(15)]
    with fake(faults=faults) as backend:
        pacer = backend.pacer = RequestPacer(RATES, clock, recovery_seconds=600)
        backend.open("storm", script_job(write_script(tmp_path / "code")))
        start = clock.monotonic()
        names = [backend.submit(request) for request in requests]
        jobs = sorted(job.name for job in backend.aws.jobs())
    assert jobs == sorted(names)  # each trial launched once, none lost to a throttle
    throttled = backend.throttled_calls["CreateTrainingJob"]
    assert throttled > 0
    assert backend.api_calls["CreateTrainingJob"] == 15 + throttled
    assert pacer.throttles["CreateTrainingJob"] == throttled
    assert pacer.share("CreateTrainingJob") < 1.0  # still slowed down
    # slowed: 15 creates took longer than the 12 seconds the rate alone needs
    assert clock.monotonic() - start > 12
