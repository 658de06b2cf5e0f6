"""Orchestration cost: API calls, orchestrator CPU time and peak memory per study size.

Runs a random-search study (``mode="async"``) through the Tuner for 100,
1,000 and 10,000 jobs at 10 and 100 jobs in parallel, each study in a fresh
process (so its peak memory is its own), on:

- **fake**: :class:`byohpo.FakeSageMaker` in instant mode: real boto3 calls
  to the fake AWS in this process (moto and byohpo's training-job service),
  jobs of about a second (start-up and ``Training``) polled every 0.2 s, the
  study's store on disk (fsync'd). Up to 1,000 jobs: the jobs take real time.
- **simulator**: :class:`byohpo.Simulator`, jobs of a median 10 minutes
  (log-normal, sigma 0.5) after SageMaker's start-up of about 2 minutes,
  polled as on SageMaker (every 5 s or more); the store in memory
  (:class:`byohpo.study._store.MemoryEventLog`).
- **simulator, disk store**: the same with the study's store on disk, up to
  1,000 jobs, to show what fsync'd appends cost.

Measured: SageMaker API calls a job (as counted by the fake AWS, or as the
SageMaker backend would send them to the simulator), the process's CPU
seconds a job (on the fake this includes the fake AWS's own work in the same
process: an upper bound of the orchestrator's), the peak resident memory of
the process and its growth during the study, and the real seconds taken.

Writes ``benchmarks/results/orchestration.csv`` and ``orchestration.png``.

    .venv/bin/python -m benchmarks.orchestration
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import byohpo
from benchmarks.strategy_quality import RESULTS, write_csv
from byohpo.study._store import MemoryEventLog

METRIC = "validation:accuracy"
SPACE = byohpo.SearchSpace(
    {"x": byohpo.Continuous(0.0, 1.0), "units": byohpo.Integer(16, 512, scaling="log")}
)
RUNS: tuple[tuple[str, int, int], ...] = (
    *((b, n, p) for b in ("simulator", "fake") for n in (100, 1000) for p in (10, 100)),
    ("simulator", 10_000, 10),
    ("simulator", 10_000, 100),
    ("simulator-disk", 100, 10),
    ("simulator-disk", 1000, 10),
    ("simulator-disk", 1000, 100),
)


def job_template() -> byohpo.TrainingJob:
    return byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://byohpo-bench/studies",
        metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
    )


def metrics(hp: Any) -> dict[str, float]:
    return {METRIC: float(hp["x"])}


def resident_kib() -> int:
    """The process's resident memory now, in KiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def one(backend: str, jobs: int, parallel: int) -> dict[str, Any]:
    """One study in this process: its calls, CPU, memory and real time."""
    with tempfile.TemporaryDirectory() as directory:
        store: Any = MemoryEventLog() if backend == "simulator" else Path(directory) / "study"
        options: dict[str, Any] = {
            "strategy": "random",
            "objective": METRIC,
            "max_jobs": jobs,
            "max_parallel_jobs": parallel,
            "mode": "async",
            "seed": 0,
            "study_name": f"bench-{jobs}-{parallel}",
            "progress": False,
            "store": store,
        }
        if backend == "fake":
            fake = byohpo.FakeSageMaker(
                instant=True,
                metrics_fn=metrics,
                startup_seconds=0.3,
                instant_training_seconds=0.6,
                max_concurrent_jobs=10_000,
            )
            with fake:
                tuner = byohpo.Tuner(job_template(), SPACE, backend=fake, **options)
                fake.aws.reset_counters()
                baseline, cpu, wall = resident_kib(), time.process_time(), time.perf_counter()
                tuner.run()
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                calls = fake.aws.api_calls
        else:
            sim = byohpo.Simulator(metrics, duration=600.0, duration_sigma=0.5, seed=0)
            tuner = byohpo.Tuner(job_template(), SPACE, backend=sim, **options)
            baseline, cpu, wall = resident_kib(), time.process_time(), time.perf_counter()
            tuner.run()
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            calls = Counter(sim.api_calls)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "backend": backend,
        "jobs": jobs,
        "parallel": parallel,
        "calls_per_job": sum(calls.values()) / jobs,
        "list_per_job": calls["ListTrainingJobs"] / jobs,
        "describe_per_job": calls["DescribeTrainingJob"] / jobs,
        "create_per_job": calls["CreateTrainingJob"] / jobs,
        "cpu_ms_per_job": 1000 * cpu / jobs,
        "peak_mib": peak / 1024,
        "growth_mib": max(0, peak - baseline) / 1024,
        "real_seconds": wall,
    }


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| backend | jobs | parallel | API calls / job | List / job | Describe / job "
        "| CPU ms / job | peak MiB | growth MiB | real s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['backend']} | {r['jobs']:,} | {r['parallel']} | {r['calls_per_job']:.2f} "
            f"| {r['list_per_job']:.2f} | {r['describe_per_job']:.2f} "
            f"| {r['cpu_ms_per_job']:.2f} | {r['peak_mib']:.0f} | {r['growth_mib']:.0f} "
            f"| {r['real_seconds']:.1f} |"
        )
    return "\n".join(lines)


def plot(rows: list[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(14, 4))
    for backend in dict.fromkeys(r["backend"] for r in rows):
        for parallel, marker in ((10, "o"), (100, "s")):
            runs = [r for r in rows if r["backend"] == backend and r["parallel"] == parallel]
            if not runs:
                continue
            label = f"{backend}, {parallel} parallel"
            for ax, key in zip(axes, ("calls_per_job", "cpu_ms_per_job", "peak_mib"), strict=True):
                ax.plot(
                    [r["jobs"] for r in runs], [r[key] for r in runs], marker=marker, label=label
                )
    titles = ("SageMaker API calls per job", "orchestrator CPU ms per job", "peak memory, MiB")
    for ax, title in zip(axes, titles, strict=True):
        ax.set_xscale("log")
        ax.set_xlabel("jobs in the study")
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
    axes[1].set_yscale("log")
    axes[0].legend(fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--one", nargs=3, metavar=("BACKEND", "JOBS", "PARALLEL"))
    options = parser.parse_args()
    if options.one:
        backend, jobs, parallel = options.one
        print(json.dumps(one(backend, int(jobs), int(parallel))))
        return
    started = time.perf_counter()
    rows = []
    for backend, jobs, parallel in RUNS:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.orchestration",
                "--one",
                backend,
                str(jobs),
                str(parallel),
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONWARNINGS": "ignore"},
        )
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(f"{backend} {jobs} x {parallel}: {rows[-1]['real_seconds']:.0f} s", flush=True)
    rows.sort(key=lambda r: (r["backend"], r["parallel"], r["jobs"]))
    write_csv(rows, RESULTS / "orchestration.csv")
    plot(rows, RESULTS / "orchestration.png")
    print()
    print(table(rows))
    print(f"\n{len(rows)} studies, {time.perf_counter() - started:.0f} s")


if __name__ == "__main__":
    main()
