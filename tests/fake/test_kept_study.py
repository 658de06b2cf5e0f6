"""A kept dry-run study after a restart, through the command line: the new fake AWS has the
jobs' checkpoints and logs, so a resumed PBT study continues from its parents' checkpoints
and the logs of jobs that ended before the restart can still be read."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest

from byohpo.fake._job_journal import LOST_REASON
from byohpo.fake._service_client import (
    FAKE_CREDENTIALS,
    STATE_FILE,
    find_service,
    stop_service,
)
from byohpo.study._store import Store

NAME = "kept-pbt"

SCRIPT = """
import argparse, os, pathlib, time
p = argparse.ArgumentParser()
p.add_argument("--lr", type=float)
p.add_argument("--steps", type=int)
a, _ = p.parse_known_args()
checkpoint = pathlib.Path(os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints"))
state = checkpoint / "step.txt"
done = int(state.read_text()) if state.exists() else 0
if done:
    print(f"resumed from step {done}", flush=True)
    while os.path.exists("HOLD_FILE"):  # the second generation waits for the test
        time.sleep(0.05)
for step in range(done + 1, a.steps + 1):
    print(f"score={a.lr * step:.6f}", flush=True)
checkpoint.mkdir(parents=True, exist_ok=True)
state.write_text(str(a.steps))
"""

STUDY = f"""
[study]
name = "{NAME}"
strategy = "pbt"
max_jobs = 6  # two generations of two, and a retry of each job the restart cut short
max_parallel_jobs = 2
seed = 3
population_size = 2
generations = 2
step_parameter = "steps"
step_size = 1
on_interrupt = "keep"

[objective]
metric = "score"

[job]
entry_point = "train.py"
source_dir = "src"
image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/kept:1"
role = "arn:aws:iam::123456789012:role/SageMakerRole"
instance_type = "ml.m5.large"
output_path = "s3://kept-pbt/output"
checkpoint_s3_uri = "s3://kept-pbt/checkpoints"

[job.metric_definitions]
score = 'score=([0-9\\\\.]+)'

[space]
lr = {{ type = "continuous", min = 0.1, max = 1.0 }}
steps = {{ type = "integer", min = 1, max = 2 }}
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "src").mkdir()
    hold = tmp_path / "hold"
    (tmp_path / "src" / "train.py").write_text(SCRIPT.replace("HOLD_FILE", str(hold)))
    (tmp_path / "study.toml").write_text(STUDY)
    monkeypatch.setenv("BYOHPO_FAKE_IDLE_TIMEOUT", "60")
    yield tmp_path
    for state in tmp_path.rglob(STATE_FILE):
        stop_service(state.parent)


def byohpo(folder: Path, *args: str) -> subprocess.Popen[str]:
    env = {**os.environ, "BYOHPO_STUDIES": str(folder / "studies")}
    return subprocess.Popen(
        [sys.executable, "-m", "byohpo.cli", *args],
        cwd=folder,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.05)


def events(store: Path) -> list[dict[str, Any]]:
    try:
        lines = (store / "events.jsonl").read_text().splitlines()
    except FileNotFoundError:
        return []
    found = []
    for line in lines:
        try:
            found.append(json.loads(line))
        except ValueError:
            break  # a line being written
    return found


def log_lines(service: Path, job_name: str) -> list[str]:
    """A job's log, read from the study's fake AWS as a user's CloudWatch client would."""
    endpoint = find_service(service)
    assert endpoint is not None
    logs: Any = boto3.client(
        "logs",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    with closing(logs):
        group = "/aws/sagemaker/TrainingJobs"
        streams = logs.describe_log_streams(logGroupName=group, logStreamNamePrefix=job_name)
        lines: list[str] = []
        for stream in streams["logStreams"]:
            page = logs.get_log_events(
                logGroupName=group, logStreamName=stream["logStreamName"], startFromHead=True
            )
            lines.extend(e["message"] for e in page["events"])
        return lines


@pytest.mark.slow
def test_a_pbt_dry_run_resumed_after_a_restart_continues_from_the_kept_checkpoints(
    folder: Path,
) -> None:
    store = folder / "studies" / NAME
    service = store / "fake-aws"
    (folder / "hold").touch()
    run = byohpo(folder, "run", "study.toml", "--dry-run", "--quiet")
    try:
        # the first generation ends; the second starts from copies of its checkpoints, held
        wait_until(
            lambda: sum(e.get("event") == "submitted" for e in events(store)) >= 4,
            "the second generation is launched",
        )
        run.send_signal(signal.SIGINT)  # Ctrl-C, keeping the jobs (on_interrupt = "keep")
        output = run.communicate(timeout=60)[0]
        assert run.returncode == 130, output
    finally:
        if run.poll() is None:
            run.kill()
        run.communicate()
    ended = {e["trial_id"] for e in events(store) if e.get("event") == "result"}
    first = [str(Store(store).load().trials[tid].job_name) for tid in sorted(ended)]
    assert len(first) == 2
    # The machine restarts: the service ends, its held jobs with it.
    assert stop_service(service)
    assert find_service(service) is None
    (folder / "hold").unlink()

    resume = byohpo(folder, "resume", NAME, "--quiet")
    output = resume.communicate(timeout=180)[0]
    assert resume.returncode == 0, output
    assert "the fake AWS of this dry run is gone" in output

    log = Store(store).load()
    assert log.finished is not None
    trials = sorted(log.trials.values(), key=lambda t: t.trial_id)
    lost = [t for t in trials if t.failure_reason == LOST_REASON]
    assert len(lost) == 2, [(t.trial_id, t.status, t.failure_reason) for t in trials]
    children = [t for t in trials if t.generation == 1 and t.status == "Completed"]
    assert len(children) == 2, [(t.trial_id, t.generation, t.status) for t in trials]
    for child in children:  # each retried child started from its parent's kept checkpoint
        assert "resumed from step 1" in log_lines(service, str(child.job_name))
        assert child.metrics["score"] > 0
    for name in first:  # the logs of the jobs that ended before the restart are still there
        assert any(line.startswith("score=") for line in log_lines(service, name))

    results = byohpo(folder, "results", NAME, "--format", "json")
    table = json.loads(results.communicate(timeout=60)[0])
    assert sorted(r["status"] for r in table) == ["Completed"] * 4 + ["Failed"] * 2
