"""The study's memory: log bytes per job, resume time and memory, S3 bytes uploaded per job.

Runs studies on :class:`byohpo.Simulator` (virtual time: jobs of a median 10 minutes,
10 in parallel) with the store on disk (a directory under ``/dev/shm`` when it exists,
so the figures are the log's, not the disk's), for three strategies:

- ``random``: random search, asynchronous; its state is a random generator;
- ``ga``: the genetic algorithm, generational; its state is a population;
- ``history``: a model-based stand-in whose state is everything it was told (as the
  Optuna and Nevergrad adapters' snapshots are): the worst case for a log that keeps
  the strategy's state.

Measured, each study in a fresh process:

- **log bytes per job** at 1,000 and 10,000 jobs (the store's files, summed);
- **resume** of the finished 10,000-job study with ``Tuner.resume`` in a fresh
  process: real seconds, CPU seconds (what the real time is on a machine nothing else
  uses), and the process's peak memory (its growth over the imports);
- **S3 bytes uploaded per job**: the same study with ``store="s3://..."`` on moto,
  counting the bodies of every S3 request the store sends.

Writes ``benchmarks/results/memory.csv``.

    .venv/bin/python -m benchmarks.memory            # everything (a few minutes)
    .venv/bin/python -m benchmarks.memory --one log random 1000
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import byohpo
from byohpo.space import Config
from byohpo.strategies._base import Strategy

METRIC = "validation:accuracy"
SPACE = byohpo.SearchSpace(
    {
        "x": byohpo.Continuous(0.0, 1.0),
        "y": byohpo.Continuous(1e-4, 1e-1, scaling="log"),
        "units": byohpo.Integer(16, 512, scaling="log"),
        "optimizer": byohpo.Categorical(["sgd", "adam"]),
    }
)
PARALLEL = 10
RESULTS = Path(__file__).parent / "results"
RUNS: tuple[tuple[str, str, int], ...] = (
    *(("log", s, n) for s in ("random", "ga", "history") for n in (1000, 10_000)),
    *(("resume", s, 10_000) for s in ("random", "ga", "history")),
    ("s3", "random", 200),
    ("s3", "random", 1000),
    ("s3", "ga", 1000),
)


class HistoryStrategy(Strategy):
    """Proposes near the best result so far; its state is its whole history."""

    name: ClassVar[str] = "history"
    supports_async: ClassVar[bool] = True

    def _setup(self) -> None:
        self._rng = random.Random(self.seed)
        self._history: list[tuple[Config, float | None]] = []

    def ask(self, n: int) -> list[Config]:
        done = [(c, v) for c, v in self._history if v is not None]
        if not done or self._rng.random() < 0.3:
            return [self.space.sample(self._rng) for _ in range(n)]
        best = max(done, key=lambda cv: cv[1] or 0.0)[0]
        out = []
        for _ in range(n):
            config = self.space.sample(self._rng)
            config["x"] = min(1.0, max(0.0, float(best["x"]) + self._rng.gauss(0, 0.05)))
            out.append(config)
        return out

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        value = None if metrics is None else float(metrics[METRIC])
        self._history.append(({k: config[k] for k in self.space}, value))

    def snapshot(self) -> dict[str, Any]:
        return {
            "rng": json.loads(json.dumps(self._rng.getstate())),
            "history": [[dict(c), v] for c, v in self._history],
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        version, internal, gauss = state["rng"]
        self._rng.setstate((version, tuple(internal), gauss))
        self._history = [(dict(c), v) for c, v in state["history"]]


def job_template() -> byohpo.TrainingJob:
    return byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://byohpo-bench/studies",
        metric_definitions={METRIC: r"accuracy=([0-9\.]+)"},
    )


def metrics(hp: Any) -> dict[str, float]:
    return {METRIC: float(hp["x"]) * (1.0 - abs(float(hp["units"]) - 128) / 512)}


def simulator() -> byohpo.Simulator:
    return byohpo.Simulator(metrics, duration=600.0, duration_sigma=0.5, seed=0)


def strategy(name: str) -> Any:
    if name == "history":
        return HistoryStrategy(seed=0)
    if name == "ga":
        return byohpo.strategies.GeneticAlgorithm(population_size=PARALLEL, seed=0)
    return name


def tuner(name: str, jobs: int, store: str) -> byohpo.Tuner:
    return byohpo.Tuner(
        job_template(),
        SPACE,
        strategy=strategy(name),
        objective=METRIC,
        max_jobs=jobs,
        max_parallel_jobs=PARALLEL,
        mode="generational" if name == "ga" else "async",
        seed=0,
        study_name=f"mem-{name}-{jobs}",
        progress=False,
        store=store,
        backend=simulator(),
    )


def scratch() -> Path:
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(dir=shm if shm.is_dir() else None, prefix="byohpo-mem-"))


def directory_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def peak_mib() -> float:
    """This process's own peak resident memory (VmHWM: unlike ru_maxrss, not inherited from
    the parent that started it)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_log(name: str, jobs: int, keep: Path | None = None) -> dict[str, Any]:
    root = keep or scratch()
    store = root / "study"
    started = time.perf_counter()
    tuner(name, jobs, str(store)).run()
    wall = time.perf_counter() - started
    size = directory_bytes(store)
    if keep is None:
        shutil.rmtree(root)
    return {"log_bytes": size, "bytes_per_job": size / jobs, "run_seconds": wall}


def run_resume(name: str, jobs: int, store: str) -> dict[str, Any]:
    """In a fresh process: resume the finished study (read, restore, find nothing to do)."""
    before = peak_mib()
    started, cpu = time.perf_counter(), time.process_time()
    byohpo.Tuner.resume(
        store,
        backend=simulator(),
        strategy=HistoryStrategy(seed=0) if name == "history" else None,
        progress=False,
    )
    return {
        "resume_seconds": time.perf_counter() - started,
        "resume_cpu_seconds": time.process_time() - cpu,
        "resume_peak_mib": peak_mib(),
        "resume_growth_mib": peak_mib() - before,
    }


def run_s3(name: str, jobs: int) -> dict[str, Any]:
    from moto import mock_aws

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    sent = {"bytes": 0, "requests": 0}

    def count(params: Any, **_: Any) -> None:
        body = params.get("Body", b"")
        sent["requests"] += 1
        sent["bytes"] += len(body.encode() if isinstance(body, str) else bytes(body))

    with mock_aws():
        import boto3

        boto3.client("s3").create_bucket(Bucket="byohpo-bench")
        t = tuner(name, jobs, f"s3://byohpo-bench/studies/mem-{name}-{jobs}")
        t.store.log.client.meta.events.register("provide-client-params.s3.PutObject", count)  # type: ignore[attr-defined]
        started = time.perf_counter()
        t.run()
        wall = time.perf_counter() - started
    return {
        "s3_bytes": sent["bytes"],
        "s3_bytes_per_job": sent["bytes"] / jobs,
        "s3_puts_per_job": sent["requests"] / jobs,
        "run_seconds": wall,
    }


def one(kind: str, name: str, jobs: int) -> dict[str, Any]:
    row: dict[str, Any] = {"measure": kind, "strategy": name, "jobs": jobs}
    if kind == "log":
        row.update(run_log(name, jobs))
    elif kind == "s3":
        row.update(run_s3(name, jobs))
    elif kind == "resume":
        root = scratch()
        try:
            row.update(run_log(name, jobs, keep=root))
            done = _child("resume-only", name, str(jobs), str(root / "study"))
            row.update(done)
        finally:
            shutil.rmtree(root)
    elif kind == "resume-only":
        raise ValueError("resume-only runs in its own process")
    return row


def _child(*arguments: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", "--one", *arguments],
        check=True,
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
    )
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def write_csv(rows: list[dict[str, Any]], path: Path) -> None:
    """The rows as CSV (written here, not imported: the resume's memory is measured without the
    other benchmarks' peer libraries loaded)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def table(rows: list[dict[str, Any]]) -> str:
    lines = [
        "| measure | strategy | jobs | log bytes / job | resume s | resume CPU s | resume peak MiB "
        "| S3 bytes / job | run s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:

        def cell(key: str, fmt: str, r: dict[str, Any] = r) -> str:
            return format(r[key], fmt) if key in r else ""

        lines.append(
            f"| {r['measure']} | {r['strategy']} | {r['jobs']:,} | {cell('bytes_per_job', ',.0f')} "
            f"| {cell('resume_seconds', '.2f')} | {cell('resume_cpu_seconds', '.2f')} "
            f"| {cell('resume_peak_mib', '.0f')} "
            f"| {cell('s3_bytes_per_job', ',.0f')} | {cell('run_seconds', '.1f')} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--one", nargs="+", metavar="ARG")
    parser.add_argument("--only", help="run only measures of this kind (log, resume, s3)")
    parser.add_argument("--output", default=str(RESULTS / "memory.csv"))
    options = parser.parse_args()
    if options.one:
        kind, name, jobs, *rest = options.one
        if kind == "resume-only":
            print(json.dumps(run_resume(name, int(jobs), rest[0])))
        else:
            print(json.dumps(one(kind, name, int(jobs))))
        return
    rows = []
    for kind, name, jobs in RUNS:
        if options.only and kind != options.only:
            continue
        started = time.perf_counter()
        rows.append(_child(kind, name, str(jobs)))
        print(f"{kind} {name} {jobs}: {time.perf_counter() - started:.0f} s", flush=True)
    write_csv(rows, Path(options.output))
    print(table(rows))


if __name__ == "__main__":
    main()
