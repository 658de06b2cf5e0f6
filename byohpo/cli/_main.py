"""The ``byohpo`` command: run, resume, status, results, stop, list, delete, repair, demo,
pipeline.

Exit status: 0 on success, 2 for a user mistake (a message, no traceback; this
includes a path that cannot be read or written and missing AWS settings),
1 otherwise, 130 after Ctrl-C, 141 when the reader of the output went away
(``byohpo results ... | head``), as other command-line tools do.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from byohpo.cli._aws_settings import aws_setup_message
from byohpo.cli._compare import add_compare_parser, cmd_compare
from byohpo.cli._dry_run import dry_run_faults, recorded_dry_run, study_backend
from byohpo.cli._records import cmd_repair, cmd_results, cmd_status
from byohpo.cli._run_summary import print_outcome
from byohpo.cli._studies import add_studies_parsers, cmd_delete, cmd_list
from byohpo.errors import ByohpoError, MissingExtraError, StudyStopped, UserError
from byohpo.pipeline._commands import add_pipeline_parser, cmd_pipeline

EXIT_OK, EXIT_ERROR, EXIT_USAGE, EXIT_INTERRUPTED, EXIT_BROKEN_PIPE = 0, 1, 2, 130, 141


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="byohpo",
        description="Run any hyperparameter-optimization algorithm as SageMaker training jobs.",
    )
    parser.add_argument("--version", action="version", version=f"byohpo {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run the study a study file describes")
    run.add_argument("study_file", metavar="STUDY.toml", help="a path, or an s3:// URI")
    run.add_argument(
        "--dry-run", action="store_true", help="a fake AWS; the jobs run on this machine"
    )
    run.add_argument(
        "--faults",
        metavar="NAME=RATE,...",
        help="with --dry-run: rehearse under injected faults, e.g. "
        "throttle=0.3,fail=0.1,capacity=0.05 (also: slow_start, missing_metrics, seed; "
        "default: the study file's [dry_run.faults])",
    )
    run.add_argument(
        "--name",
        metavar="NEW",
        help="run the study file as a new study of this name (the file's name is already taken)",
    )
    _interrupt_options(run)
    _aws_options(run)
    _events_option(run)

    resume = sub.add_parser("resume", help="continue a study after a crash or Ctrl-C")
    resume.add_argument("study", metavar="STUDY", help="the study's name or directory")
    _interrupt_options(resume)
    _aws_options(resume)
    _events_option(resume)

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
    _aws_options(stop)

    add_studies_parsers(sub)

    repair = sub.add_parser(
        "repair", help="set a study log's damaged lines aside, so the study can resume"
    )
    repair.add_argument("study", metavar="STUDY")

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
        default=None,
        help="after Ctrl-C: ask, stop the jobs in flight, or keep them for `byohpo resume` "
        "(default: the study file's on_interrupt, else ask)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress lines")


def _aws_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--region", help="the AWS region (default: your AWS configuration's)")
    parser.add_argument("--profile", help="the AWS profile (default: AWS_PROFILE, or default)")


def _events_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--events-queue",
        metavar="URL",
        help="status by events: the SQS queue that EventBridge fills with the study's job "
        "state changes (infra/template.yaml's JobEventsQueueUrl); ended jobs are noticed "
        "within seconds and SageMaker is listed only as a safety net (with --dry-run: a "
        "queue of that name in the fake AWS; a study file may give it as [sagemaker] "
        "events_queue; resume uses the study's own queue unless given another)",
    )


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("byohpo")
    except PackageNotFoundError:  # pragma: no cover - running from a clone without installing
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command not in ("demo", "pipeline"):
            from byohpo.cli._catalog import check_studies_dir

            check_studies_dir()
        status = int(COMMANDS[args.command](args) or EXIT_OK)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return status
    except BrokenPipeError:
        return _reader_went_away()
    except (UserError, MissingExtraError) as exc:
        print(f"byohpo: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as exc:
        if exc.filename is None:
            raise
        print(
            f"byohpo: error: {exc.filename} must be usable, but got: {exc.strerror}. "
            "Check the path and its permissions.",
            file=sys.stderr,
        )
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
    except Exception as exc:
        message = aws_setup_message(exc)
        if message is None:
            raise
        print(f"byohpo: error: {message}", file=sys.stderr)
        return EXIT_USAGE


def _reader_went_away() -> int:
    """The program reading our output closed it (``| head``): end quietly, as `cat` does."""
    with contextlib.suppress(OSError, ValueError, AttributeError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's final flush must not fail again
    return EXIT_BROKEN_PIPE


# -- commands --------------------------------------------------------------------------
def cmd_run(args: argparse.Namespace) -> int:
    from byohpo.study_file import load_study_file

    study = load_study_file(args.study_file)
    if args.name is not None:
        study.rename(args.name)
    faults = dry_run_faults(args.faults, args.dry_run, study.dry_run_faults)
    location = _store_location(study.tuner_args.get("store"), study.name)
    _check_name_is_free(location, study.name, args.study_file)
    on_interrupt = args.on_interrupt or study.tuner_args.get("on_interrupt", "ask")
    with study_backend(
        dry_run=args.dry_run,
        inputs=study.dry_run_inputs,
        location=location,
        name=study.name,
        region=args.region,
        profile=args.profile,
        faults=faults,
        events_queue=args.events_queue or study.events_queue,
    ) as backend:
        tuner = study.make_tuner(
            backend=backend, on_interrupt=on_interrupt, progress=not args.quiet
        )
        try:
            result = tuner.run()
        except UserError as exc:
            raise _with_restart_hint(exc, location, args) from None
    print_outcome(result)
    return EXIT_INTERRUPTED if tuner.stop_reason == "interrupted" else EXIT_OK


def cmd_resume(args: argparse.Namespace) -> int:
    from byohpo.study._store import Store
    from byohpo.study._tuner import Tuner, study_location

    store = Store(study_location(args.study))
    log = store.load()
    if not log.study:
        raise UserError(
            "resume needs an existing study", repr(args.study), "Give its name or directory."
        )
    from byohpo.study._damage import refuse_damaged

    refuse_damaged(log, args.study)

    from byohpo.cli._catalog import never_launched

    refused = str((log.finished or {}).get("reason", ""))
    if never_launched(log) and refused.startswith("stopped:"):
        raise UserError(
            "resume sends the study's recorded job again, and SageMaker refused it",
            refused.removeprefix("stopped: "),
            f"No job was created, so nothing was spent: fix the study file and run it again "
            f"with `byohpo run STUDY.toml`; it starts study {log.name!r} over.",
        )
    dry_run = recorded_dry_run(log.study, "resume", log.name)
    with study_backend(
        dry_run=dry_run,
        inputs={},
        location=store.location,
        name=log.name,
        region=args.region or log.study.get("region"),
        profile=args.profile,
        events_queue=args.events_queue or log.study.get("events_queue"),
    ) as backend:
        if dry_run:
            from byohpo.cli._dry_run import record_lost_jobs

            backend.start()
            record_lost_jobs(store, backend)
        result = Tuner.resume(
            args.study,
            backend=backend,
            on_interrupt=args.on_interrupt or "ask",
            progress=not args.quiet,
        )
    print_outcome(result)
    return EXIT_OK


def cmd_stop(args: argparse.Namespace) -> int:
    from byohpo.job import TrainingJob
    from byohpo.study._store import Store
    from byohpo.study._tuner import study_location

    store = Store(study_location(args.study))
    log = store.load()
    if not log.study:
        raise UserError(
            "stop needs an existing study", repr(args.study), "Give its name or directory."
        )
    running = [t for t in log.trials.values() if t.submitted and not t.has_result and t.job_name]
    dry_run = recorded_dry_run(log.study, "stop", log.name)
    if dry_run:
        from byohpo.cli._dry_run import service_dir
        from byohpo.fake._service_client import find_service, read_state

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
    with (
        study_backend(
            dry_run=dry_run,
            inputs={},
            location=store.location,
            name=log.name,
            region=args.region or log.study.get("region"),
            profile=args.profile,
        ) as backend,
        backend,
    ):  # entered: a dry run's fake AWS answers while the jobs stop
        backend.study_id = log.study_id
        backend.open(log.name, TrainingJob.from_json(log.study["job"], check_files=False))
        for trial in running:
            backend.stop(str(trial.job_name))
            print(f"stopping {trial.job_name}")
        from byohpo.study._sagemaker_tuning import stop_recorded_tuning_job

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
    from byohpo.cli._demo import run_demo

    return run_demo(strategy=args.strategy, max_jobs=args.max_jobs, directory=args.directory)


COMMANDS = {
    "run": cmd_run,
    "resume": cmd_resume,
    "status": cmd_status,
    "results": cmd_results,
    "stop": cmd_stop,
    "repair": cmd_repair,
    "list": cmd_list,
    "delete": cmd_delete,
    "demo": cmd_demo,
    "pipeline": cmd_pipeline,
    "compare": cmd_compare,
}


# -- shared pieces -------------------------------------------------------------------------
def _store_location(store: str | None, name: str) -> str:
    from byohpo.study._tuner import study_location

    return str(store) if store is not None else study_location(name)


def _with_restart_hint(exc: UserError, location: str, args: argparse.Namespace) -> UserError:
    """A mistake found only by SageMaker: when no job was created, the fixed file starts over."""
    from byohpo.cli._catalog import never_launched
    from byohpo.study._store import Store

    store = Store(location)
    if store.exists() and never_launched(store.load()):
        again = f"byohpo run {args.study_file}" + (" --dry-run" if args.dry_run else "")
        again += f" --name {args.name}" if args.name else ""
        return UserError(
            str(exc).rstrip("."),
            None,
            f"No job was created, so nothing was spent: fix the study file and run `{again}` "
            "again; it starts the study over.",
        )
    return exc


def _check_name_is_free(location: str, name: str, study_file: str) -> None:
    """A study name is used once; a study that never created a job may start over."""
    from byohpo.study._store import Store

    store = Store(location)
    if not store.exists():
        return
    log = store.load()
    if not log.study:
        return
    from byohpo.cli._catalog import never_launched, set_aside

    if never_launched(log) and not location.startswith("s3://"):
        kept = set_aside(Path(location))
        print(
            f"study {name!r} never created a job; starting it over from {study_file} "
            f"(its earlier log is kept as {kept})",
            file=sys.stderr,
        )
        return
    raise UserError(
        f"a study named {name!r} already exists (in {location})",
        f"{len(log.trials)} trials on record",
        f"Continue it with `byohpo resume {name}`, run the file again as a new study with "
        f"`byohpo run {study_file} --name {name}-2`, or remove it with `byohpo delete {name}`.",
    )
