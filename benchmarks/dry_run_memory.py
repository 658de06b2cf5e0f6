"""What a kept dry run's memory costs: the fake AWS writing its S3 objects and log streams to
``<study>/fake-aws/data/`` and putting them back when its service starts again.

Fills a fake account as a dry run of N jobs leaves it (for each job: a 20 kB checkpoint, a
40 kB model.tar.gz, a 2 kB output archive and a log stream of 100 lines; one code archive),
then measures, in this process:

- **first save**: everything written (seconds) and the bytes on disk;
- **unchanged save**: a save when nothing changed (median of 5): the whole account is
  listed, nothing is written;
- **one job changed**: a save after one job wrote a new checkpoint and 10 log lines;
- **restore**: a new fake account started on the kept directory (seconds), checked to hold
  every object;
- **share of a core** the service's saving takes: it saves at every check, every 0.5 s.

Before the saves read moto's models, they listed the account through the API; the same
benchmark then gave (1,000 jobs) an unchanged save of 1.07 s: docs/benchmarks.md.

Writes ``benchmarks/results/dry_run_memory.csv``.

    .venv/bin/python -m benchmarks.dry_run_memory               # 50, 200 and 1,000 jobs
    .venv/bin/python -m benchmarks.dry_run_memory --jobs 200
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from byohpo.fake._aws import FakeAWS

BUCKET = "dry-run-memory"
GROUP = "/aws/sagemaker/TrainingJobs"
CHECK_SECONDS = 0.5
"""How often the service saves (``_CHECK_SECONDS`` in byohpo/fake/_service.py)."""
RESULTS = Path(__file__).parent / "results" / "dry_run_memory.csv"


def fill(session: Any, jobs: int) -> None:
    s3, logs = session.client("s3"), session.client("logs")
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="study/code/sourcedir.tar.gz", Body=os.urandom(8_000))
    logs.create_log_group(logGroupName=GROUP)
    now = int(time.time() * 1000)
    for i in range(jobs):
        for key, size in (("checkpoints/epoch.pt", 20_000), ("output/model.tar.gz", 40_000)):
            s3.put_object(Bucket=BUCKET, Key=f"study/job-{i}/{key}", Body=os.urandom(size))
        s3.put_object(Bucket=BUCKET, Key=f"study/job-{i}/output/output.tar.gz", Body=b"o" * 2000)
        write_lines(logs, f"job-{i}/algo-1-0", now, 100, create=True)


def write_lines(logs: Any, stream: str, now: int, count: int, *, create: bool = False) -> None:
    if create:
        logs.create_log_stream(logGroupName=GROUP, logStreamName=stream)
    events = [
        {"timestamp": now + j, "message": f"epoch {j} accuracy=0.{j:03d}"} for j in range(count)
    ]
    logs.put_log_events(logGroupName=GROUP, logStreamName=stream, logEvents=events)


def timed(action: Any) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def measure(jobs: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as directory:
        kept = Path(directory) / "data"
        with FakeAWS(kept_data=kept) as fake:
            session = fake.session()
            fill(session, jobs)
            first = timed(fake.save_journal)
            unchanged = statistics.median(timed(fake.save_journal) for _ in range(5))
            s3 = session.client("s3")
            s3.put_object(Bucket=BUCKET, Key="study/job-0/checkpoints/epoch.pt", Body=b"c" * 20_000)
            write_lines(session.client("logs"), "job-0/algo-1-0", int(time.time() * 1000), 10)
            one_changed = timed(fake.save_journal)
        disk = sum(f.stat().st_size for f in kept.rglob("*") if f.is_file())
        started = time.perf_counter()
        with FakeAWS(kept_data=kept) as fake:
            restore = time.perf_counter() - started
            pages = fake.session().client("s3").get_paginator("list_objects_v2")
            listed = sum(page["KeyCount"] for page in pages.paginate(Bucket=BUCKET))
        assert listed == 3 * jobs + 1, f"restored {listed} objects of {3 * jobs + 1}"
    return {
        "jobs": jobs,
        "first_save_s": round(first, 3),
        "unchanged_save_s": round(unchanged, 3),
        "one_job_changed_s": round(one_changed, 3),
        "restore_s": round(restore, 2),
        "disk_mb": round(disk / 1e6, 1),
        "core_share": round(min(1.0, unchanged / CHECK_SECONDS), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, nargs="*", default=[50, 200, 1000])
    rows = [measure(jobs) for jobs in parser.parse_args().jobs]
    RESULTS.parent.mkdir(exist_ok=True)
    with RESULTS.open("w", newline="") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(" | ".join(rows[0]))
    for row in rows:
        print(" | ".join(str(v) for v in row.values()))
    print(f"written to {RESULTS}")


if __name__ == "__main__":
    main()
