"""A dry run survives its orchestrator: killed, interrupted or orphaned, it resumes whole.

Each test runs ``byohpo`` as a separate process, as a user would, against the fake-AWS
service next to the study's store, and looks at the result through the store and through
the service's own ListTrainingJobs.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest

from byohpo.cli._dry_run import LOST
from byohpo.fake._job_journal import LOST_REASON
from byohpo.fake._service import JOURNAL_DIR
from byohpo.fake._service_client import (
    FAKE_CREDENTIALS,
    ServiceState,
    find_service,
    read_state,
    stop_service,
    write_state,
)
from byohpo.study._store import Store, StudyLog

NAME = "kill-resume"
MAX_JOBS = 16

SCRIPT = """
import argparse, os, time
HOLD = "HOLD_FILE"  # while this file exists, jobs stay in flight
p = argparse.ArgumentParser()
p.add_argument("--width", type=float)
p.add_argument("--depth", type=int)
p.add_argument("--kind")
a, _ = p.parse_known_args()
assert os.listdir(os.environ["SM_CHANNEL_TRAIN"]), "the training data is missing"
while os.path.exists(HOLD):
    time.sleep(0.05)
time.sleep(0.3)
score = 1 - (a.width - 0.25) ** 2 - ((a.depth - 4) / 8) ** 2 - (0 if a.kind == "b" else 0.05)
print(f"Validation-accuracy={score:.6f}")
"""

STUDY = f"""
[study]
name = "{NAME}"
strategy = "ga"
population_size = 4
max_jobs = {MAX_JOBS}
max_parallel_jobs = 4
seed = 11

[objective]
metric = "validation:accuracy"

[job]
entry_point = "score.py"
source_dir = "src"
image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/score:1"
role = "arn:aws:iam::123456789012:role/SageMakerRole"
instance_type = "ml.m5.large"
output_path = "s3://kill-resume/output"
inputs = {{ train = "s3://kill-resume/data/train" }}

[job.metric_definitions]
"validation:accuracy" = 'Validation-accuracy=([-0-9\\\\.]+)'

[space]
width = {{ type = "continuous", min = 0.0, max = 1.0 }}
depth = {{ type = "integer", min = 1, max = 8 }}
kind = {{ type = "categorical", values = ["a", "b"] }}

[dry_run]
inputs = {{ train = "data/train" }}
"""


class Byohpo:
    """The ``byohpo`` command, run as a process of its own with its studies in one folder."""

    def __init__(self, folder: Path, studies: str) -> None:
        self.folder = folder
        self.studies = folder / studies
        self.store = self.studies / NAME
        self.env = {**os.environ, "BYOHPO_STUDIES": str(self.studies)}
        self._runs = 0

    @contextmanager
    def start(self, *args: str) -> Iterator[subprocess.Popen[bytes]]:
        """The command running; its output goes to a file (see :meth:`output`)."""
        self._runs += 1
        with open(self.folder / f"{self.studies.name}-{self._runs}.out", "wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "byohpo.cli", *args],
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
            try:
                yield process
            finally:
                if process.poll() is None:
                    process.kill()
                process.wait()

    def run(self, *args: str, timeout: float = 90.0) -> int:
        with self.start(*args) as process:
            return process.wait(timeout)

    def output(self) -> str:
        return (self.folder / f"{self.studies.name}-{self._runs}.out").read_text()

    def events(self) -> list[dict[str, Any]]:
        try:
            lines = (self.store / "events.jsonl").read_text().splitlines()
        except FileNotFoundError:
            return []
        events = []
        for line in lines:
            try:
                events.append(json.loads(line))
            except ValueError:
                break  # a line being written
        return events

    def count(self, kind: str) -> int:
        return sum(1 for e in self.events() if e.get("event") == kind)

    def in_flight(self) -> set[int]:
        events = self.events()
        submitted = {e["trial_id"] for e in events if e.get("event") == "submitted"}
        return submitted - {e["trial_id"] for e in events if e.get("event") == "result"}

    def log(self) -> StudyLog:
        return Store(self.store).load()

    def service_jobs(self) -> dict[str, str]:
        """Every training job of the study's fake AWS, by name: its status."""
        endpoint = find_service(self.store / "fake-aws")
        assert endpoint is not None, "the dry run's fake AWS is not running"
        names: list[str] = []
        statuses: dict[str, str] = {}
        client = boto3.client(
            "sagemaker",
            endpoint_url=endpoint.url,
            region_name="us-east-1",
            aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        )
        with closing(client):
            for page in client.get_paginator("list_training_jobs").paginate():
                for job in page["TrainingJobSummaries"]:
                    names.append(job["TrainingJobName"])
                    statuses[job["TrainingJobName"]] = job["TrainingJobStatus"]
        assert Counter(names).most_common(1)[0][1] == 1, f"a job listed twice: {names}"
        return statuses


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def make_study(folder: Path) -> Path:
    (folder / "src").mkdir()
    (folder / "src" / "score.py").write_text(SCRIPT.replace("HOLD_FILE", str(folder / "hold")))
    (folder / "data" / "train").mkdir(parents=True)
    (folder / "data" / "train" / "rows.csv").write_text("1,2,3\n")
    (folder / "study.toml").write_text(STUDY)
    return folder / "study.toml"


def decisions(log: StudyLog) -> list[tuple[int, int, dict[str, str], int | None]]:
    """What the strategy decided, trial by trial: generation, hyperparameters, duplicate of."""
    return [
        (t.trial_id, t.generation, t.hyperparameters, t.duplicate_of)
        for _, t in sorted(log.trials.items())
    ]


def assert_complete_and_whole(byohpo: Byohpo) -> StudyLog:
    """The study ended on its budget; every trial has one result; no job ran twice."""
    log = byohpo.log()
    assert log.finished is not None
    assert log.finished["reason"] == f"max_jobs reached ({MAX_JOBS} jobs)"
    own = [t for t in log.trials.values() if t.duplicate_of is None]
    assert len(own) == MAX_JOBS
    results = Counter(e["trial_id"] for e in byohpo.events() if e.get("event") == "result")
    assert set(results) == {t.trial_id for t in own}
    assert set(results.values()) == {1}, "a result recorded twice"
    jobs = byohpo.service_jobs()
    assert sorted(jobs) == sorted(str(t.job_name) for t in own)
    return log


def test_a_killed_dry_run_resumes_without_twins_or_losses_and_decides_as_if_never_killed(
    tmp_path: Path,
) -> None:
    study = make_study(tmp_path)
    killed = Byohpo(tmp_path, "killed")
    uninterrupted = Byohpo(tmp_path, "uninterrupted")
    with uninterrupted.start("run", str(study), "--dry-run", "--quiet") as reference:
        with killed.start("run", str(study), "--dry-run", "--quiet") as run:
            wait_until(
                lambda: killed.count("result") >= 5 and bool(killed.in_flight()),
                "some results are in and jobs are in flight",
            )
            run.send_signal(signal.SIGKILL)
            run.wait()
        assert 5 <= killed.count("result") < MAX_JOBS
        assert killed.in_flight(), "the kill should catch jobs in flight"
        with killed.start("resume", NAME, "--quiet") as resume:
            wait_until(
                lambda: killed.count("result") >= 10 or resume.poll() is not None,
                "more results are in",
            )
            resume.send_signal(signal.SIGKILL)
            resume.wait()
        assert killed.run("resume", NAME, "--quiet") == 0, killed.output()
        assert reference.wait(90) == 0

    log = assert_complete_and_whole(killed)
    for trial in log.trials.values():
        assert trial.status == "Completed" and "validation:accuracy" in trial.metrics
    assert decisions(log) == decisions(uninterrupted.log())


def interrupt_mid_run(byohpo: Byohpo, study: Path, on_interrupt: str) -> list[str]:
    """``byohpo run`` until jobs are in flight, then Ctrl-C; the jobs it recorded in flight.

    The jobs stay in flight (held) until the test lets them go on with :func:`release`.
    """
    (byohpo.folder / "hold").touch()
    with byohpo.start(
        "run", str(study), "--dry-run", "--quiet", "--on-interrupt", on_interrupt
    ) as run:
        wait_until(lambda: len(byohpo.in_flight()) >= 2, "jobs are in flight")
        run.send_signal(signal.SIGINT)
        assert run.wait(30) == 130, byohpo.output()
    interrupted = [e for e in byohpo.events() if e.get("event") == "interrupted"]
    assert len(interrupted) == 1 and interrupted[0]["reason"] == "Ctrl-C"
    assert interrupted[0]["jobs"] == {"keep": "kept", "stop": "stopped"}[on_interrupt]
    names = list(interrupted[0]["job_names"])
    assert len(names) >= 2 and interrupted[0]["in_flight"] == len(names)
    assert sorted(names) == sorted(str(byohpo.log().trials[t].job_name) for t in byohpo.in_flight())
    return names


def release(byohpo: Byohpo) -> None:
    (byohpo.folder / "hold").unlink()


def test_ctrl_c_keeps_the_jobs_in_flight_and_resume_collects_them(tmp_path: Path) -> None:
    study = make_study(tmp_path)
    byohpo = Byohpo(tmp_path, "studies")
    kept = interrupt_mid_run(byohpo, study, "keep")
    time.sleep(0.5)
    jobs = byohpo.service_jobs()
    assert all(jobs[name] == "InProgress" for name in kept), jobs
    release(byohpo)
    wait_until(
        lambda: all(byohpo.service_jobs()[name] == "Completed" for name in kept),
        "the kept jobs complete with nobody watching",
    )

    assert byohpo.run("resume", NAME, "--quiet") == 0, byohpo.output()
    log = assert_complete_and_whole(byohpo)
    assert all(t.status == "Completed" for t in log.trials.values())


def test_ctrl_c_can_stop_the_jobs_in_flight_and_the_store_says_so(tmp_path: Path) -> None:
    study = make_study(tmp_path)
    byohpo = Byohpo(tmp_path, "studies")
    stopped = interrupt_mid_run(byohpo, study, "stop")
    wait_until(
        lambda: all(byohpo.service_jobs()[name] == "Stopped" for name in stopped),
        "the stopped jobs end Stopped",
    )
    assert byohpo.run("status", NAME) == 0
    status = byohpo.output()
    assert "fake AWS (dry run): running at http://127.0.0.1:" in status
    assert f"Stopped: {len(stopped)}" in status


def test_byohpo_stop_stops_the_jobs_a_dry_run_left_running(tmp_path: Path) -> None:
    study = make_study(tmp_path)
    byohpo = Byohpo(tmp_path, "studies")
    kept = interrupt_mid_run(byohpo, study, "keep")
    assert byohpo.run("stop", NAME) == 0, byohpo.output()
    assert all(f"stopping {name}" in byohpo.output() for name in kept)
    wait_until(
        lambda: all(byohpo.service_jobs()[name] == "Stopped" for name in kept),
        "the jobs end Stopped",
    )
    stop = [e for e in byohpo.events() if e.get("event") == "interrupted"][-1]
    assert stop["reason"] == "byohpo stop" and sorted(stop["job_names"]) == sorted(kept)


@pytest.mark.parametrize("journal", ["kept", "removed"])
def test_a_resume_after_the_fake_aws_died_says_so_and_goes_on_without_its_running_jobs(
    journal: str, tmp_path: Path
) -> None:
    study = make_study(tmp_path)
    byohpo = Byohpo(tmp_path, "studies")
    interrupt_mid_run(byohpo, study, "keep")
    lost = sorted(byohpo.in_flight())
    # The machine "restarts": the service is gone without a word, its running jobs with it.
    service = byohpo.store / "fake-aws"
    gone = read_state(service)
    assert gone is not None and stop_service(service)
    write_state(service, ServiceState(gone.pid, gone.port, gone.started_at, gone.idle_timeout))
    if journal == "removed":  # and what it kept on disk is gone too
        shutil.rmtree(service / JOURNAL_DIR)
    release(byohpo)

    assert byohpo.run("stop", NAME) == 0
    assert "the fake AWS of this dry run is not running" in byohpo.output()
    assert f"its {len(lost)} jobs in flight went with it" in byohpo.output()
    assert find_service(service) is None, "stopping nothing starts no fake AWS"

    assert byohpo.run("resume", NAME, "--quiet") == 0, byohpo.output()
    output = byohpo.output()
    assert "the fake AWS of this dry run is gone" in output
    assert "killed, or the machine restarted" in output
    log = byohpo.log()
    assert log.finished is not None
    for tid in lost:
        trial = log.trials[tid]
        assert trial.status == "Failed"
        if journal == "kept":  # the new service remembers them: failed by its end, retried
            assert trial.failure_reason == LOST_REASON
        else:  # no record of them anywhere: recorded as lost here
            assert trial.failure_reason == LOST
    retried = {t.retry_of for t in log.trials.values()}
    for trial in log.trials.values():
        if trial.duplicate_of is not None or trial.status == "Completed":
            continue  # including the jobs of the new service, which found the inputs put again
        # A job launched as the run was cut (not yet recorded as submitted) ran too.
        assert trial.failure_reason in (LOST_REASON, LOST), (trial.trial_id, trial.failure_reason)
        if trial.failure_reason == LOST_REASON:
            assert trial.trial_id in retried, "a job the fake AWS lost is tried again"
