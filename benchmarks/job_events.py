"""Status by events against polling: SageMaker calls per job and how soon an end is noticed.

Runs an asynchronous random-search study in the simulator (virtual time) for each
scenario: 4, 20 and 100 jobs in parallel; jobs of 5 minutes, of 1 hour, and of a
log-normal duration around 20 minutes (sigma 0.5); each after SageMaker's start-up
(about 2 minutes). Each scenario runs:

- **polling**: the backend as without a queue (one ListTrainingJobs round per poll,
  one DescribeTrainingJob per ended job, the loop's age-based poll interval);
- **events**: ``EventDelivery()``: job ends reach the study's SQS queue after a
  log-normal delay (median 1 s, sigma 0.8), the backend long-polls the queue
  (20 s waits, waking at once on an end) and lists SageMaker only as a two-hourly
  safety net;
- **events, 1% lost**: the same with one event in a hundred never delivered;
- **events, no long poll**: ``wait_seconds=0``: the queue is read only when polling.

Measured: SageMaker calls per job by API (CreateTrainingJob, ListTrainingJobs,
DescribeTrainingJob), SQS calls per job (ReceiveMessage, DeleteMessageBatch), and
the notice latency: from a job's end to the poll that returned it ended (median,
95th percentile, max). Writes ``benchmarks/results/job_events.csv``.

    .venv/bin/python -m benchmarks.job_events [--jobs-per-slot 6]
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

import byohpo
from byohpo.simulator import Simulator
from byohpo.simulator._events import EventDelivery
from byohpo.study._store import MemoryEventLog
from byohpo.trial import JobState

RESULTS = Path(__file__).resolve().parent / "results"
METRIC = "validation:accuracy"
SPACE = byohpo.SearchSpace({"x": byohpo.Continuous(0.0, 1.0)})
SAGEMAKER = ("CreateTrainingJob", "ListTrainingJobs", "DescribeTrainingJob", "StopTrainingJob")
SQS = ("ReceiveMessage", "DeleteMessageBatch")
DURATIONS: dict[str, tuple[float, float]] = {
    "5 min": (300.0, 0.0),
    "1 h": (3600.0, 0.0),
    "log-normal ~20 min": (1200.0, 0.5),
}
MODES: dict[str, EventDelivery | None] = {
    "polling": None,
    "events": EventDelivery(),
    "events, 1% lost": EventDelivery(loss=0.01),
    "events, no long poll": EventDelivery(wait_seconds=0),
}


class NoticingSimulator(Simulator):
    """Notes when the tuner first saw each job ended."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.noticed: dict[str, float] = {}

    def poll(self, job_names: Collection[str]) -> list[JobState]:
        states = super().poll(job_names)
        now = self.clock.now()
        for state in states:
            if state.status.is_terminal:
                self.noticed.setdefault(state.job_name, now)
        return states


def job_template() -> byohpo.TrainingJob:
    return byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://byohpo-bench/studies",
        metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
    )


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def one(mode: str, duration: str, parallel: int, jobs: int, seed: int = 0) -> dict[str, Any]:
    median, sigma = DURATIONS[duration]
    sim = NoticingSimulator(
        lambda hp: {METRIC: float(hp["x"])},
        duration=median,
        duration_sigma=sigma,
        seed=seed,
        events=MODES[mode],
    )
    byohpo.Tuner(
        job_template(),
        SPACE,
        backend=sim,
        strategy="random",
        mode="async",
        objective=METRIC,
        max_jobs=jobs,
        max_parallel_jobs=parallel,
        seed=seed,
        study_name=f"events-{parallel}",
        progress=False,
        store=MemoryEventLog(),
    ).run()
    done = sim.jobs()
    latencies = [sim.noticed[j.name] - j.end for j in done]
    calls = sim.api_calls
    row: dict[str, Any] = {
        "mode": mode,
        "jobs": duration,
        "parallel": parallel,
        "n_jobs": len(done),
        "sagemaker_per_job": sum(calls[a] for a in SAGEMAKER) / len(done),
        "sqs_per_job": sum(calls[a] for a in SQS) / len(done),
        "latency_median_s": statistics.median(latencies),
        "latency_p95_s": percentile(latencies, 0.95),
        "latency_max_s": max(latencies),
    }
    for api in (*SAGEMAKER[:3], *SQS):
        row[f"{api}_per_job"] = calls[api] / len(done)
    return row


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| jobs | parallel | mode | SageMaker calls / job | Create | List | Describe "
        "| SQS calls / job | notice median s | p95 s | max s |",
        "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['jobs']} | {r['parallel']} | {r['mode']} | {r['sagemaker_per_job']:.2f} "
            f"| {r['CreateTrainingJob_per_job']:.2f} | {r['ListTrainingJobs_per_job']:.2f} "
            f"| {r['DescribeTrainingJob_per_job']:.2f} | {r['sqs_per_job']:.2f} "
            f"| {r['latency_median_s']:.1f} | {r['latency_p95_s']:.1f} "
            f"| {r['latency_max_s']:.1f} |"
        )
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--jobs-per-slot", type=int, default=6, help="jobs = this x parallel")
    parser.add_argument("--parallel", type=int, nargs="+", default=[4, 20, 100])
    options = parser.parse_args()
    started = time.perf_counter()
    rows = [
        one(mode, duration, parallel, max(24, options.jobs_per_slot * parallel))
        for duration in DURATIONS
        for parallel in options.parallel
        for mode in MODES
    ]
    write_csv(rows, RESULTS / "job_events.csv")
    print(table(rows))
    print(f"\n({time.perf_counter() - started:.0f} s real)")


if __name__ == "__main__":
    main()
