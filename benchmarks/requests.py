"""Requests a study sends to SageMaker: paced, bounded listing, poll intervals (on the simulator).

For jobs of 5 minutes, of 1 hour, and log-normal around 20 minutes (sigma
0.5), each at 4, 20 and 100 in parallel (10 jobs per slot), a random-search
study (``mode="async"``) runs on :class:`byohpo.Simulator` whose account
throttles at SageMaker's rates (:data:`byohpo.backends._rates.SAGEMAKER_RATES`)
and answers each request after 0.1 s. Measured per scenario:

- requests per job by API (CreateTrainingJob, ListTrainingJobs pages,
  DescribeTrainingJob), throttled ones included, and the throttled requests;
- ListTrainingJobs pages per poll (mean and worst), and the same with 4
  stragglers that hang for 5 days in a 2,000-job study at 50 in parallel;
- notice latency: from a job's end to the loop recording its result
  (median and 95th percentile);
- the same scenarios for the polling loop of the original article: every
  10 s, one DescribeTrainingJob per job in flight, each ended job's log read
  once at the end (DescribeLogStreams, GetLogEvents), requests neither paced
  nor spaced (its creates are retried until they go through; its other
  requests as boto3's standard retries do: up to 3 attempts, jittered backoff;
  a request that fails all 3 would crash that loop: they are counted as
  "gave up" and sent again, so its figures go on).

Writes ``benchmarks/results/requests.csv``.

    .venv/bin/python -m benchmarks.requests
"""

from __future__ import annotations

import argparse
import csv
import math
import random
import statistics
from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

import byohpo
from benchmarks.strategy_quality import RESULTS
from byohpo.backends._base import study_prefix
from byohpo.simulator import AccountLimits, JobContext, Outcome
from byohpo.simulator._events import EventDelivery
from byohpo.study._events import ResultRecorded
from byohpo.study._store import MemoryEventLog
from byohpo.trial import JobState, LaunchRequest

METRIC = "validation:accuracy"
SPACE = byohpo.SearchSpace({"x": byohpo.Continuous(0.0, 1.0)})
LATENCY = 0.1
ARTICLE_POLL_SECONDS = 10.0
SCENARIOS: tuple[tuple[str, float, float], ...] = (
    ("5 min", 300.0, 0.0),
    ("1 h", 3600.0, 0.0),
    ("log-normal ~20 min", 1200.0, 0.5),
)
PARALLEL = (4, 20, 100)
STRAGGLER_SECONDS = 5 * 86400.0
SAGEMAKER = ("CreateTrainingJob", "ListTrainingJobs", "DescribeTrainingJob", "StopTrainingJob")
SQS = ("ReceiveMessage", "DeleteMessageBatch")


def job_template() -> byohpo.TrainingJob:
    return byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://byohpo-bench/studies",
        metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
        max_runtime_seconds=10 * 86400,
    )


@dataclass(frozen=True)
class Jobs:
    """Training times: a median and a log-normal spread; some trials hang for days."""

    median: float
    sigma: float
    stragglers: frozenset[int] = frozenset()

    def run(self, job: JobContext) -> Outcome:
        if job.trial_id in self.stragglers:
            seconds = STRAGGLER_SECONDS
        elif self.sigma > 0:
            seconds = self.median * float(job.rng.lognormvariate(0.0, self.sigma))
        else:
            seconds = self.median
        return Outcome(training_seconds=seconds, metrics={METRIC: float(job.hyperparameters["x"])})


class Measured(byohpo.Simulator):
    """The simulator, also counting the pages each poll would have cost listing every job
    created since the oldest one in flight (byohpo's listing before it listed only running
    jobs)."""

    def __init__(self, problem: Jobs, **options: Any) -> None:
        super().__init__(problem, seed=0, limits=AccountLimits(api_latency=LATENCY), **options)
        self.pages_before: Counter[int] = Counter()

    def poll(self, job_names: Collection[str]) -> list[JobState]:
        prefix = study_prefix(self.study_name, self.study_id)
        listed, positions = self.account.listing(prefix)
        ended = {name for name in job_names if self.account.jobs[name].end <= self.clock.now()}
        found = [positions[n] for n in job_names if n in positions and n not in ended]
        if found:
            self.pages_before[max(1, math.ceil((len(listed) - min(found)) / 100))] += 1
        return super().poll(job_names)


def simulator(problem: Jobs, **options: Any) -> Measured:
    return Measured(problem, **options)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def run_byohpo(
    problem: Jobs, parallel: int, jobs: int, events: EventDelivery | None = None
) -> dict[str, Any]:
    """byohpo's loop, polling (or, with ``events``, hearing of job ends from a queue)."""
    sim = simulator(problem, events=events)
    store = MemoryEventLog()
    byohpo.Tuner(
        job_template(),
        SPACE,
        objective=METRIC,
        strategy="random",
        backend=sim,
        store=store,
        max_jobs=jobs,
        max_parallel_jobs=parallel,
        mode="async",
        seed=0,
        study_name=f"req-{parallel}",
        progress=False,
    ).run()
    latencies, after_event = [], []
    for event in store.read().events:
        if isinstance(event, ResultRecorded) and event.time is not None:
            name = sim.job_name(event.trial_id)
            latencies.append(event.time - sim.account.jobs[name].end)
            if (arrived := sim.event_arrival(name)) is not None:
                after_event.append(event.time - arrived)
    pages = sim.poll_pages
    polls = sum(pages.values())
    loop = "byohpo" if events is None else "byohpo, events"
    return row(loop, problem, parallel, jobs, sim.api_calls, sim.throttled_calls, latencies) | {
        "polls": polls,
        "pages_per_poll": sum(p * n for p, n in pages.items()) / max(1, polls),
        "max_pages_per_poll": max(pages, default=0),
        "pages_per_poll_before": sum(p * n for p, n in sim.pages_before.items())
        / max(1, sum(sim.pages_before.values())),
        "max_pages_per_poll_before": max(sim.pages_before, default=0),
        "slot_use": sim.usage().slot_utilization(parallel),
        "after_event_max_s": max(after_event, default=float("nan")),
    }


def run_article(problem: Jobs, parallel: int, jobs: int) -> dict[str, Any]:
    """The article's loop, on the same simulated account (not paced, boto3's retries)."""
    sim = simulator(problem, list_calls_per_second=None)
    sim.open(f"article-{parallel}", job_template())
    account, clock, rng = sim.account, sim.clock, random.Random(0)

    gave_up = 0

    def send(operation: str) -> None:
        """boto3's standard retries: 3 attempts; a loop that gives up then would crash, so
        such requests are counted and sent again (the figures go on as if it had not)."""
        nonlocal gave_up
        attempt = 0
        while True:
            try:
                account.request(operation)
                return
            except ClientError:
                attempt += 1
                if attempt % 3 == 0:
                    gave_up += 1
                clock.sleep(rng.uniform(0.0, min(20.0, 2.0 ** (attempt % 3))))

    in_flight: list[str] = []
    launched, latencies = 0, []
    while launched < jobs or in_flight:
        while launched < jobs and len(in_flight) < parallel:
            # created unpaced, retried until it goes through (sim.submit, pacing off)
            in_flight.append(sim.submit(LaunchRequest(launched, {"x": str(rng.random())})))
            launched += 1
        for name in list(in_flight):
            send("DescribeTrainingJob")
            job = account.jobs[name]
            if job.status_at(clock.now()).is_terminal:
                latencies.append(clock.now() - job.end)
                send("DescribeLogStreams")
                send("GetLogEvents")
                in_flight.remove(name)
        clock.sleep(ARTICLE_POLL_SECONDS)
    return row(
        "article", problem, parallel, jobs, account.api_calls, account.throttled_calls, latencies
    ) | {"gave_up": gave_up, "slot_use": sim.usage().slot_utilization(parallel)}


def row(
    loop: str,
    problem: Jobs,
    parallel: int,
    jobs: int,
    calls: Counter[str],
    throttled: Counter[str],
    latencies: list[float],
) -> dict[str, Any]:
    return {
        "loop": loop,
        "median_s": problem.median,
        "sigma": problem.sigma,
        "stragglers": len(problem.stragglers),
        "parallel": parallel,
        "jobs": jobs,
        "create_per_job": calls["CreateTrainingJob"] / jobs,
        "list_per_job": calls["ListTrainingJobs"] / jobs,
        "describe_per_job": calls["DescribeTrainingJob"] / jobs,
        "calls_per_job": sum(calls.values()) / jobs,
        "sagemaker_per_job": sum(calls[api] for api in SAGEMAKER) / jobs,
        "sqs_per_job": sum(calls[api] for api in SQS) / jobs,
        "throttled": sum(throttled.values()),
        "notice_median_s": statistics.median(latencies) if latencies else float("nan"),
        "notice_p95_s": percentile(latencies, 0.95),
        "notice_max_s": max(latencies, default=float("nan")),
    }


def table(rows: list[dict[str, Any]]) -> str:
    head = (
        "| loop | jobs | parallel | Create/job | List/job | Describe/job | all/job | throttled "
        "| pages/poll (worst) | before | notice median / p95 (s) | slot use |\n"
        "|---|---|---|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        name = "1 h" if r["median_s"] == 3600 else "5 min" if r["median_s"] == 300 else "~20 min"
        if r["stragglers"]:
            name += f", {r['stragglers']} hung 5 days"
        pages = before = "-"
        if "polls" in r:
            pages = f"{r['pages_per_poll']:.2f} ({r['max_pages_per_poll']})"
            before = f"{r['pages_per_poll_before']:.2f} ({r['max_pages_per_poll_before']})"
        loop = r["loop"] + (f" ({r['gave_up']} gave up)" if r.get("gave_up") else "")
        lines.append(
            f"| {loop} | {name}: {r['jobs']} | {r['parallel']} | {r['create_per_job']:.2f} "
            f"| {r['list_per_job']:.2f} | {r['describe_per_job']:.2f} | {r['calls_per_job']:.2f} "
            f"| {r['throttled']} | {pages} | {before} "
            f"| {r['notice_median_s']:.1f} / {r['notice_p95_s']:.1f} "
            f"| {r['slot_use']:.1%} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs-per-slot", type=int, default=10)
    parser.add_argument("--quick", action="store_true", help="4 and 20 in parallel only")
    args = parser.parse_args()
    rows = []
    for _, median, sigma in SCENARIOS:
        for parallel in PARALLEL[:2] if args.quick else PARALLEL:
            jobs = args.jobs_per_slot * parallel
            problem = Jobs(median, sigma)
            for run in (run_byohpo, run_article):
                rows.append(run(problem, parallel, jobs))
                print(table([rows[-1]]).splitlines()[-1], flush=True)
    stragglers = Jobs(1200.0, 0.5, frozenset({3, 10, 50, 200}))
    for problem in (Jobs(1200.0, 0.5), stragglers):
        rows.append(run_byohpo(problem, 50, 2000))
        print(table([rows[-1]]).splitlines()[-1], flush=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for r in rows for key in r))
    with (RESULTS / "requests.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    print(table(rows))


if __name__ == "__main__":
    main()
