"""The Backend contract: every backend (the fake SageMaker, the simulator, ...) keeps it."""

from __future__ import annotations

import time

import pytest

from byohpo.trial import JobStatus, LaunchRequest

from .conftest import Harness


def launch(h: Harness, trial_id: int, **hyperparameters: object) -> str:
    values = {name: str(value) for name, value in hyperparameters.items()}
    return h.backend.submit(LaunchRequest(trial_id, values))


def test_submitting_a_trial_twice_launches_one_job(harness: Harness) -> None:
    first = launch(harness, 1)
    assert launch(harness, 1) == first
    other = harness.reattach()  # a new process after a crash submits it again
    assert other.submit(LaunchRequest(1, {})) == first
    jobs = other.list_study_jobs()
    assert [(j.job_name, j.trial_id) for j in jobs] == [(first, 1)]


def test_poll_follows_a_job_through_its_states_to_the_end(harness: Harness) -> None:
    name = launch(harness, 1, acc=0.9, seconds=0.6)
    history = harness.wait([name])
    statuses = [states[0].status for states in history]
    assert statuses[-1] is JobStatus.COMPLETED
    assert all(s is JobStatus.IN_PROGRESS for s in statuses[:-1])
    assert len(statuses) >= 2  # it was seen running
    final = history[-1][0]
    assert final.trial_id == 1
    assert dict(final.metrics) == {"acc": pytest.approx(0.9)}
    assert final.start_time is not None and final.end_time is not None
    assert final.billable_seconds is not None and final.billable_seconds >= 1


def test_a_failed_job_carries_its_reason(harness: Harness) -> None:
    name = launch(harness, 1, outcome="fail")
    final = harness.wait([name])[-1][0]
    assert final.status is JobStatus.FAILED
    assert final.failure_reason and "boom" in final.failure_reason


def test_a_stopped_job_is_busy_while_stopping_then_stopped(harness: Harness) -> None:
    name = launch(harness, 1, seconds=60)
    deadline = time.monotonic() + 30
    while harness.backend.poll([name])[0].secondary_status != "Training":
        assert time.monotonic() < deadline
        harness.backend.clock.sleep(0.05)
    harness.backend.stop(name)
    stopping = harness.backend.poll([name])[0]
    assert stopping.status is JobStatus.STOPPING and stopping.status.is_busy
    final = harness.wait([name])[-1][0]
    assert final.status is JobStatus.STOPPED
    harness.backend.stop(name)  # stopping an ended job is no error


def test_metrics_are_read_from_the_logs_and_as_final_values(harness: Harness) -> None:
    name = launch(harness, 1, acc=0.75)
    final = harness.wait([name])[-1][0]
    curves = harness.backend.read_curves(name)
    assert [value for _, value in curves["acc"]] == pytest.approx([0.25, 0.5, 0.75])
    assert final.metrics["acc"] == curves["acc"][-1][1]
    times = [t for t, _ in curves["acc"]]
    assert times == sorted(times)
    assert harness.backend.read_curves(name) == curves


def test_a_new_backend_object_reattaches_to_the_study_by_name(harness: Harness) -> None:
    names = [launch(harness, trial, acc=trial / 10) for trial in (1, 2, 3)]
    harness.wait(names)
    other = harness.reattach()
    jobs = other.list_study_jobs()
    assert sorted((j.job_name, j.trial_id) for j in jobs) == sorted(
        zip(names, (1, 2, 3), strict=True)
    )
    states = other.poll(names)
    assert [s.metrics["acc"] for s in states] == pytest.approx([0.1, 0.2, 0.3])


def test_poll_costs_one_list_round_whatever_the_jobs_in_flight(harness: Harness) -> None:
    names = [launch(harness, trial, seconds=1.5) for trial in range(1, 7)]
    before = harness.calls()
    harness.backend.poll(names)
    harness.backend.poll(names)
    spent = harness.calls() - before
    assert spent["ListTrainingJobs"] == 2
    assert spent["DescribeTrainingJob"] == 0  # none ended yet
    before = harness.calls()
    polls = len(harness.wait(names))
    spent = harness.calls() - before
    assert spent["ListTrainingJobs"] == polls
    assert spent["DescribeTrainingJob"] == len(names)  # once per job, when it ended
    before = harness.calls()
    assert all(s.status.is_terminal for s in harness.backend.poll(names))
    assert harness.calls() - before == {}  # ended jobs cost nothing more
