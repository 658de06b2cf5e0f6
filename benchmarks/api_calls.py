"""SageMaker API calls per job: byohpo's backend against the naive polling loop.

Runs a study of ``--jobs`` instant jobs on the fake SageMaker at each
``--parallel`` level, twice:

- **byohpo**: :class:`byohpo.FakeSageMaker` (the production backend) driven by a
  refill loop: submit until ``parallel`` jobs are in flight, ``poll`` them all,
  sleep, repeat;
- **naive**: the loop of the original blog post: the same refill, but each cycle
  calls DescribeTrainingJob for every job in flight and reads every job's log
  stream from its head (DescribeLogStreams, then GetLogEvents) for its metrics.

Both loops poll at the same interval and every job lasts about one interval
(start-up plus training), so the comparison is of the calls each cycle costs.
The calls are counted by the fake AWS as it receives them.

    .venv/bin/python benchmarks/api_calls.py [--jobs 200] [--parallel 4 20 100]
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from byohpo.fake import FakeSageMaker
from byohpo.fake._aws import FakeAWS
from byohpo.job import TrainingJob
from byohpo.trial import LaunchRequest

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
METRIC = r"validation:accuracy=([0-9\.]+)"
LOG_GROUP = "/aws/sagemaker/TrainingJobs"
TERMINAL = {"Completed", "Failed", "Stopped"}


@dataclass(frozen=True)
class Settings:
    jobs: int
    poll_seconds: float
    startup_seconds: float
    training_seconds: float

    def fake_options(self) -> dict[str, Any]:
        return {
            "instant": True,
            "metrics_fn": lambda hp: {"validation:accuracy": float(hp["x"])},
            "startup_seconds": self.startup_seconds,
            "instant_training_seconds": self.training_seconds,
            "max_concurrent_jobs": 10_000,  # instant jobs use no CPU
        }


@dataclass(frozen=True)
class Result:
    loop: str
    parallel: int
    jobs: int
    sagemaker: Counter[str]
    logs: Counter[str]
    cycles: int
    seconds: float

    @property
    def sagemaker_per_job(self) -> float:
        return sum(self.sagemaker.values()) / self.jobs

    @property
    def all_per_job(self) -> float:
        return (sum(self.sagemaker.values()) + sum(self.logs.values())) / self.jobs


def _job(code: Path) -> TrainingJob:
    return TrainingJob(
        entry_point="train.py",
        source_dir=str(code),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/bench:1",
        role=ROLE,
        output_path="s3://byohpo-bench/studies",
        metric_definitions={"validation:accuracy": METRIC},
    )


def _refill(
    jobs: int,
    parallel: int,
    poll_seconds: float,
    launch: Callable[[int], str],
    ended: Callable[[list[str]], list[str]],
) -> int:
    """Keep ``parallel`` jobs in flight until ``jobs`` have ended; returns the cycles run."""
    next_trial, done, cycles = 1, 0, 0
    in_flight: list[str] = []
    while done < jobs:
        while next_trial <= jobs and len(in_flight) < parallel:
            in_flight.append(launch(next_trial))
            next_trial += 1
        time.sleep(poll_seconds)
        finished = set(ended(in_flight))
        in_flight = [name for name in in_flight if name not in finished]
        done += len(finished)
        cycles += 1
    return cycles


def run_byohpo(settings: Settings, parallel: int, code: Path) -> Result:
    with FakeSageMaker(min_poll_interval=settings.poll_seconds, **settings.fake_options()) as fake:
        fake.open(f"bench-byohpo-{parallel}", _job(code))
        fake.aws.reset_counters()
        start = time.monotonic()

        def launch(trial: int) -> str:
            return fake.submit(LaunchRequest(trial, {"x": str(trial / settings.jobs)}))

        def ended(names: list[str]) -> list[str]:
            return [s.job_name for s in fake.poll(names) if s.status.is_terminal]

        cycles = _refill(settings.jobs, parallel, settings.poll_seconds, launch, ended)
        return Result(
            "byohpo",
            parallel,
            settings.jobs,
            fake.aws.api_calls,
            _logs(fake.aws.aws_calls),
            cycles,
            time.monotonic() - start,
        )


def run_naive(settings: Settings, parallel: int, code: Path) -> Result:
    with FakeAWS(**settings.fake_options()) as aws:
        session = aws.session()
        sagemaker: Any = session.client("sagemaker")
        logs: Any = session.client("logs")
        s3: Any = session.client("s3")
        s3.create_bucket(Bucket="byohpo-bench")
        s3.put_object(Bucket="byohpo-bench", Key="code/sourcedir.tar.gz", Body=b"")
        job = _job(code)
        aws.reset_counters()
        start = time.monotonic()

        def launch(trial: int) -> str:
            name = f"bench-naive-{parallel}-t{trial:05d}"
            sagemaker.create_training_job(
                TrainingJobName=name,
                AlgorithmSpecification={
                    "TrainingImage": job.image_uri,
                    "TrainingInputMode": "File",
                    "MetricDefinitions": [{"Name": "validation:accuracy", "Regex": METRIC}],
                },
                RoleArn=ROLE,
                HyperParameters={
                    "x": str(trial / settings.jobs),
                    "sagemaker_program": '"train.py"',
                    "sagemaker_submit_directory": '"s3://byohpo-bench/code/sourcedir.tar.gz"',
                },
                OutputDataConfig={"S3OutputPath": "s3://byohpo-bench/naive"},
                ResourceConfig={
                    "InstanceType": "ml.m5.large",
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 30,
                },
                StoppingCondition={"MaxRuntimeInSeconds": 3600},
            )
            return name

        def ended(names: list[str]) -> list[str]:
            finished = []
            for name in names:
                status = sagemaker.describe_training_job(TrainingJobName=name)
                try:
                    streams = logs.describe_log_streams(
                        logGroupName=LOG_GROUP, logStreamNamePrefix=f"{name}/"
                    )["logStreams"]
                except ClientError:
                    streams = []  # nothing logged yet
                for stream in streams:  # every cycle, from the head
                    logs.get_log_events(
                        logGroupName=LOG_GROUP,
                        logStreamName=stream["logStreamName"],
                        startFromHead=True,
                    )
                if status["TrainingJobStatus"] in TERMINAL:
                    finished.append(name)
            return finished

        cycles = _refill(settings.jobs, parallel, settings.poll_seconds, launch, ended)
        return Result(
            "naive",
            parallel,
            settings.jobs,
            aws.api_calls,
            _logs(aws.aws_calls),
            cycles,
            time.monotonic() - start,
        )


def _logs(calls: Counter[str]) -> Counter[str]:
    return Counter({op: n for op, n in calls.items() if op.startswith("cloudwatch-logs.")})


def _table(results: list[Result]) -> str:
    lines = [
        "| loop | parallel | SageMaker calls / job | with CloudWatch Logs / job "
        "| Create | List | Describe | cycles | wall s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.loop} | {r.parallel} | {r.sagemaker_per_job:.2f} | {r.all_per_job:.2f} "
            f"| {r.sagemaker['CreateTrainingJob']} | {r.sagemaker['ListTrainingJobs']} "
            f"| {r.sagemaker['DescribeTrainingJob']} | {r.cycles} | {r.seconds:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--jobs", type=int, default=200)
    parser.add_argument("--parallel", type=int, nargs="+", default=[4, 20, 100])
    parser.add_argument("--poll-seconds", type=float, default=0.5)
    parser.add_argument(
        "--job-polls",
        type=float,
        nargs="+",
        default=[1.0, 5.0],
        help="how long a job lasts, in poll intervals (half start-up, half training)",
    )
    args = parser.parse_args()
    print(
        f"{date.today().isoformat()}, {platform.machine()} {platform.system()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}; {args.jobs} jobs, "
        f"poll every {args.poll_seconds} s",
        flush=True,
    )
    with tempfile.TemporaryDirectory() as tmp:
        code = Path(tmp)
        (code / "train.py").write_text("print('validation:accuracy=0.5')\n")
        for polls in args.job_polls:
            half = polls * args.poll_seconds / 2
            settings = Settings(args.jobs, args.poll_seconds, half, half)
            results = [
                run(settings, parallel, code)
                for parallel in args.parallel
                for run in (run_byohpo, run_naive)
            ]
            print(f"\nJobs of {polls:g} poll intervals ({2 * half:g} s):\n")
            print(_table(results), flush=True)


if __name__ == "__main__":
    main()
