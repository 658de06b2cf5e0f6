"""Wide and long studies side by side, in one run: requests, notice, slot use (simulator).

For jobs of 5 minutes, of 1 hour and log-normal around 20 minutes (sigma 0.5),
each at 4, 20 and 100 in parallel (``--jobs-per-slot`` rounds, 10 by default),
on the simulated account that throttles at SageMaker's rates and answers each
request after 0.1 s (:class:`benchmarks.requests.Measured`), every scenario runs:

- **polling**: byohpo's loop, a random-search study (``mode="async"``) that
  lists the study's running jobs and describes each ended one
  (:func:`benchmarks.requests.run_byohpo`);
- **events**: the same study hearing of job ends from its SQS queue
  (``EventDelivery()``: EventBridge's delay log-normal, median 1 s, sigma 0.8;
  20 s long polls; a 2-hourly safety-net listing);
- **article**: the polling loop of the original article, the reference: every
  10 s a DescribeTrainingJob per job in flight, each ended job's log read once
  at the end, nothing paced (:func:`benchmarks.requests.run_article`);
- **slot use** of ``ga`` in its three forms (``generational``, ``async``,
  ``islands``: four islands, :func:`benchmarks.async_evolution.form_of`), polling.

Two more rows measure ListTrainingJobs pages per poll with stragglers: 2,000
log-normal jobs at 50 in parallel, without and with 4 jobs that hang for 5 days.

Prints one Markdown table (the one of ``docs/benchmarks.md``) and writes every
measure to ``benchmarks/results/wide_studies.csv``.

    .venv/bin/python -m benchmarks.wide_studies [--jobs-per-slot 10] [--workers 2]
"""

from __future__ import annotations

import argparse
import csv
import time
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import byohpo
from benchmarks.async_evolution import form_of
from benchmarks.requests import (
    METRIC,
    PARALLEL,
    SCENARIOS,
    SPACE,
    Jobs,
    job_template,
    run_article,
    run_byohpo,
    simulator,
)
from benchmarks.strategy_quality import RESULTS
from benchmarks.time_to_result import steady_utilization
from byohpo.simulator._events import EventDelivery
from byohpo.study._store import MemoryEventLog

FORMS = ("generational", "async", "islands")
STRAGGLERS = frozenset({3, 10, 50, 200})


def slot_use(problem: Jobs, parallel: int, jobs: int, form: str) -> dict[str, Any]:
    """``ga`` in one of its forms: the share of slots busy, whole study and steady state."""
    mode, options = form_of(form)
    sim = simulator(problem)
    byohpo.Tuner(
        job_template(),
        SPACE,
        objective=METRIC,
        strategy="ga",
        strategy_options=options,
        backend=sim,
        store=MemoryEventLog(),
        max_jobs=jobs,
        max_parallel_jobs=parallel,
        mode=mode,
        seed=0,
        study_name=f"slots-{parallel}",
        progress=False,
    ).run()
    return {
        f"{form}_slot_use": sim.usage().slot_utilization(parallel),
        f"{form}_steady_slot_use": steady_utilization(sim.jobs(), parallel),
    }


def scenario(name: str, median: float, sigma: float, parallel: int, rounds: int) -> dict[str, Any]:
    """Every loop on one scenario, as one row of named measures."""
    problem, jobs = Jobs(median, sigma), rounds * parallel
    measured = {
        "polling": run_byohpo(problem, parallel, jobs),
        "events": run_byohpo(problem, parallel, jobs, events=EventDelivery()),
        "article": run_article(problem, parallel, jobs),
    }
    row: dict[str, Any] = {"jobs": name, "parallel": parallel, "n_jobs": jobs}
    for loop, measures in measured.items():
        row |= {f"{loop}_{key}": value for key, value in measures.items() if key != "loop"}
    for form in FORMS:
        row |= slot_use(problem, parallel, jobs, form)
    return row


def stragglers(hung: frozenset[int]) -> dict[str, Any]:
    """Pages per poll of 2,000 log-normal jobs at 50 in parallel, ``hung`` for 5 days."""
    measures = run_byohpo(Jobs(1200.0, 0.5, hung), 50, 2000)
    name = f"~20 min, {len(hung)} hung 5 days" if hung else "~20 min"
    return {"jobs": name, "parallel": 50, "n_jobs": 2000} | {
        f"polling_{key}": value for key, value in measures.items() if key != "loop"
    }


def _cell(row: dict[str, Any], template: str, *keys: str) -> str:
    values = [row.get(key) for key in keys]
    return "-" if any(v is None for v in values) else template.format(*values)


def table(rows: list[dict[str, Any]]) -> str:
    """One Markdown table: polling, events and the article's loop side by side."""
    lines = [
        "| jobs | parallel | polling: Create / List / Describe per job | polling: pages/poll "
        "(worst); before | polling: notice median / p95 s | events: SageMaker / SQS per job "
        "| events: notice median / p95 / max s (max after the event) | article: calls per job "
        "| article: notice median / p95 s | throttled: polling / events / article "
        "| ga slot use: generational / async / islands; until the last launch |",
        "|---|---:|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        cells = [
            f"{r['jobs']}: {r['n_jobs']}",
            str(r["parallel"]),
            _cell(
                r,
                "{:.2f} / {:.2f} / {:.2f}",
                "polling_create_per_job",
                "polling_list_per_job",
                "polling_describe_per_job",
            ),
            _cell(
                r,
                "{:.2f} ({}); {:.2f} ({})",
                "polling_pages_per_poll",
                "polling_max_pages_per_poll",
                "polling_pages_per_poll_before",
                "polling_max_pages_per_poll_before",
            ),
            _cell(r, "{:.1f} / {:.1f}", "polling_notice_median_s", "polling_notice_p95_s"),
            _cell(r, "{:.2f} / {:.1f}", "events_sagemaker_per_job", "events_sqs_per_job"),
            _cell(
                r,
                "{:.1f} / {:.1f} / {:.1f} ({:.1f})",
                "events_notice_median_s",
                "events_notice_p95_s",
                "events_notice_max_s",
                "events_after_event_max_s",
            ),
            _cell(r, "{:.1f}", "article_calls_per_job"),
            _cell(r, "{:.1f} / {:.1f}", "article_notice_median_s", "article_notice_p95_s"),
            _cell(r, "{} / {} / {}", "polling_throttled", "events_throttled", "article_throttled")
            if "events_throttled" in r
            else _cell(r, "{} / - / -", "polling_throttled"),
            _cell(
                r,
                "{:.1%} / {:.1%} / {:.1%}; steady {:.0%} / {:.0%} / {:.0%}",
                *(f"{form}_slot_use" for form in FORMS),
                *(f"{form}_steady_slot_use" for form in FORMS),
            ),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_csv(rows: list[dict[str, Any]]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    columns = list(dict.fromkeys(key for r in rows for key in r))
    with (RESULTS / "wide_studies.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--jobs-per-slot", type=int, default=10, help="rounds of jobs per slot")
    parser.add_argument("--parallel", type=int, nargs="+", default=list(PARALLEL))
    parser.add_argument("--workers", type=int, default=1, help="scenarios run at once")
    parser.add_argument("--no-stragglers", action="store_true", help="skip the 2,000-job rows")
    args = parser.parse_args()
    started = time.perf_counter()
    with ProcessPoolExecutor(args.workers) as pool:
        futures = [
            pool.submit(scenario, name, median, sigma, parallel, args.jobs_per_slot)
            for name, median, sigma in SCENARIOS
            for parallel in args.parallel
        ]
        if not args.no_stragglers:
            futures += [pool.submit(stragglers, hung) for hung in (frozenset(), STRAGGLERS)]
        rows = []
        for future in futures:
            rows.append(future.result())
            print(table(rows[-1:]).splitlines()[-1], flush=True)
    write_csv(rows)
    print()
    print(table(rows))
    print(f"\n({time.perf_counter() - started:.0f} s wall)")


if __name__ == "__main__":
    main()
