"""The ``byohpo`` command: run, resume, status, results, stop, demo, pipeline.

Exit status: 0 on success, 2 for a user mistake (a message, no traceback),
1 otherwise, 130 after Ctrl-C.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from byohpo.comparison import add_compare_parser, cmd_compare
from byohpo.errors import ByohpoError, MissingExtraError, StudyStopped, UserError
from byohpo.pipeline.commands import add_pipeline_parser, cmd_pipeline

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byohpo",
        description="Run any hyperparameter-optimization algorithm as SageMaker training jobs.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the study a study file describes")
    run.add_argument("study_file", metavar="STUDY.toml", help="a path, or an s3:// URI")
    run.add_argument(
        "--dry-run", action="store_true", help="a fake AWS; the jobs run on this machine"
    )
    _interrupt_options(run)

    resume = sub.add_parser("resume", help="continue a study after a crash or Ctrl-C")
    resume.add_argument("study", metavar="STUDY", help="the study's name or directory")
    _interrupt_options(resume)

    status = sub.add_parser("status", help="how far a study got")
    status.add_argument("study", metavar="STUDY")

    results = sub.add_parser("results", help="the results table of a study")
    results.add_argument("study", metavar="STUDY")
    results.add_argument("--format", choices=("table", "csv", "json"), default="table")
    results.add_argument(
        "--report", metavar="FILE.html", help="also write an HTML report with plots"
    )

    stop = sub.add_parser("stop", help="stop every job of a study that is still running")
    stop.add_argument("study", metavar="STUDY")

    demo = sub.add_parser("demo", help="a complete dry-run study, nothing to set up")
    demo.add_argument("--strategy", default="ga")
    demo.add_argument("--max-jobs", type=int, default=16)
    demo.add_argument("--directory", default=None, help="where to keep the demo study")

    add_pipeline_parser(sub)
    add_compare_parser(sub)
    return parser


def _interrupt_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--on-interrupt",
        choices=("ask", "stop", "keep"),
        default="ask",
        help="after Ctrl-C: ask, stop the jobs in flight, or keep them for `byohpo resume`",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return int(COMMANDS[args.command](args) or EXIT_OK)
    except (UserError, MissingExtraError) as exc:
        print(f"byohpo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StudyStopped as exc:
        print(f"byohpo: study stopped: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except ByohpoError as exc:
        print(f"byohpo: {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        print("byohpo: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


# -- commands --------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from byohpo.study_file import load_study_file

    study = load_study_file(args.study_file)
    location = _store_location(study.tuner_args.get("store"), study.name)
    with _backend(
        dry_run=args.dry_run, inputs=study.dry_run_inputs, location=location, name=study.name
    ) as backend:
        tuner = study.make_tuner(
            backend=backend, on_interrupt=args.on_interrupt, progress=not args.quiet
        )
        result = tuner.run()
    _print_outcome(result)
    return EXIT_INTERRUPTED if tuner.stop_reason == "interrupted" else EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    from byohpo.study.store import Store
    from byohpo.study.tuner import Tuner, study_location

    store = Store(study_location(args.study))
    log = store.load()
    if not log.study:
        raise UserError(
            "resume needs an existing study", repr(args.study), "Give its name or directory."
        )
    dry_run = log.study.get("backend") == "FakeSageMaker"
    with _backend(dry_run=dry_run, inputs={}, location=store.location, name=log.name) as backend:
        if dry_run:
            from byohpo.fake.dry_run import record_lost_jobs

            backend.start()
            record_lost_jobs(store, backend)
        result = Tuner.resume(
            args.study, backend=backend, on_interrupt=args.on_interrupt, progress=not args.quiet
        )
    _print_outcome(result)
    return EXIT_OK


def cmd_status(args: argparse.Namespace) -> int:
    result = _load(args.study)
    table = result.table()
    print(f"study {result.name}: {len(table)} trials")
    for status, count in table["status"].value_counts().items():
        print(f"  {status}: {count}")
    if result.stop_reason:
        print(f"ended: {result.stop_reason}")
    else:
        print("not finished (running, or interrupted: `byohpo resume` continues it)")
    if result.log.study.get("backend") == "FakeSageMaker":
        from byohpo.fake.dry_run import service_status
        from byohpo.study.tuner import study_location

        print(service_status(study_location(args.study), result.name))
    with contextlib.suppress(ByohpoError, ValueError):
        best = result.best()
        if hasattr(best, "to_dict"):
            print(f"best so far: trial {best.get('trial_id')} objective {best.get('objective')}")
    return EXIT_OK


def cmd_results(args: argparse.Namespace) -> int:
    result = _load(args.study)
    table = result.table()
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(table.to_json(orient="records", date_format="iso", indent=2) + "\n")
    else:
        print(table.to_string(index=False))
    if args.report:
        from byohpo.report import write_report

        write_report(result, args.report)
        print(f"report written to {args.report}", file=sys.stderr)
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    from byohpo.job import TrainingJob
    from byohpo.study.store import Store
    from byohpo.study.tuner import study_location

    store = Store(study_location(args.study))
    log = store.load()
    if not log.study:
        raise UserError(
            "stop needs an existing study", repr(args.study), "Give its name or directory."
        )
    running = [t for t in log.trials.values() if t.submitted and not t.has_result and t.job_name]
    dry_run = log.study.get("backend") == "FakeSageMaker"
    if dry_run:
        from byohpo.fake.dry_run import service_dir
        from byohpo.fake.service_client import find_service, read_state

        directory = service_dir(store.location, log.name)
        if find_service(directory) is None:
            state = read_state(directory)
            ended = f" ({state.describe_end()})" if state is not None else ""
            print(f"the fake AWS of this dry run is not running{ended}: nothing to stop")
            if running:
                print(
                    f"its {len(running)} jobs in flight went with it; `byohpo resume {log.name}` "
                    "records them as lost and goes on"
                )
            return EXIT_OK
    with _backend(dry_run=dry_run, inputs={}, location=store.location, name=log.name) as backend:
        backend.open(log.name, TrainingJob.from_json(log.study["job"], check_files=False))
        for trial in running:
            backend.stop(str(trial.job_name))
            print(f"stopping {trial.job_name}")
        from byohpo.study.sagemaker_tuning import stop_recorded_tuning_job

        if tuning_job := stop_recorded_tuning_job(backend, log):
            print(f"stopping SageMaker's tuning job {tuning_job}")
    store.record(
        {
            "event": "interrupted",
            "reason": "byohpo stop",
            "jobs": "stopped",
            "in_flight": len(running),
            "job_names": [str(t.job_name) for t in running],
        }
    )
    print(
        f"asked SageMaker to stop {len(running)} jobs; "
        f"`byohpo resume {log.name}` collects their results"
    )
    return EXIT_OK


def cmd_demo(args: argparse.Namespace) -> int:
    from byohpo.demo import run_demo

    return run_demo(strategy=args.strategy, max_jobs=args.max_jobs, directory=args.directory)


COMMANDS = {
    "run": cmd_run,
    "resume": cmd_resume,
    "status": cmd_status,
    "results": cmd_results,
    "stop": cmd_stop,
    "demo": cmd_demo,
    "pipeline": cmd_pipeline,
    "compare": cmd_compare,
}


# -- shared pieces -------------------------------------------------------------------------
def _store_location(store: str | None, name: str) -> str:
    from byohpo.study.tuner import study_location

    return str(store) if store is not None else study_location(name)


@contextlib.contextmanager
def _backend(*, dry_run: bool, inputs: dict[str, Path], location: str, name: str) -> Iterator[Any]:
    """The study's backend; a dry run's is the fake AWS service next to the study's store."""
    if not dry_run:
        from byohpo.backends.sagemaker import SageMakerBackend

        backend = SageMakerBackend()
        try:
            yield backend
        finally:
            backend.close()
        return
    from byohpo.fake.dry_run import dry_run_backend

    fake = dry_run_backend(location, name, inputs)  # started when the study opens, not before
    try:
        yield fake
    finally:
        fake.shutdown()


def _load(study: str) -> Any:
    from byohpo.results import StudyResult
    from byohpo.study.store import Store
    from byohpo.study.tuner import study_location

    location = study_location(study)
    log = Store(location).load()
    if not log.study:
        raise UserError(
            "no study found",
            f"{study!r} (looked in {location})",
            "Give the study's name or directory.",
        )
    return StudyResult(log)


def _print_outcome(result: Any) -> None:
    import pandas as pd

    table = result.table()
    shown = [c for c in table.columns if c not in ("start_time", "end_time", "parent_id")]
    with pd.option_context("display.width", 160, "display.max_columns", 30):
        print(table[shown].to_string(index=False))
    with contextlib.suppress(ByohpoError, ValueError):
        best = result.best()
        if isinstance(best, pd.Series):
            print(
                f"\nbest trial: {best['trial_id']} ({best['job_name']}), "
                f"objective {best['objective']}"
            )
            print("best hyperparameters:", result.best_config())
    if result.stop_reason:
        print(f"study ended: {result.stop_reason}")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
