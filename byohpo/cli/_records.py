"""``byohpo status``, ``results`` and ``repair``: what a study recorded, read from its log.

None of them needs AWS: they read the study's store (a dry run's status also says whether
its fake AWS still runs).
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any, TextIO

from byohpo.errors import ByohpoError, UserError
from byohpo.trial import JobPlace

EXIT_OK = 0


def cmd_status(args: argparse.Namespace) -> int:
    result = _load(args.study)
    table = result.table()
    print(f"study {result.name}: {len(table)} trials, as the study recorded them")
    for status, count in table["status"].value_counts().items():
        print(f"  {status}: {count}")
    _say_warm_start(result, sys.stdout)
    flying = [
        t for t in result.log.trials.values() if t.submitted and not t.has_result and t.job_name
    ]
    if flying:
        print(f"jobs in flight ({len(flying)}):")
        for t in sorted(flying, key=lambda t: t.trial_id):
            print(f"  trial {t.trial_id}: {t.job_name} ({t.secondary_status or t.status})")
    if result.stop_reason:
        print(f"ended: {result.stop_reason}")
    elif flying:
        print(
            f"not finished: while the study is not running, its jobs' ends are not recorded; "
            f"`byohpo resume {result.name}` collects them and goes on"
        )
    else:
        print(f"not finished (running, or interrupted: `byohpo resume {result.name}` continues it)")
    _say_damage(result.log.damage, args.study, sys.stdout)
    if JobPlace.recorded(result.log.study) is JobPlace.FAKE_AWS:
        from byohpo.cli._dry_run import service_status
        from byohpo.study._tuner import study_location

        print(service_status(study_location(args.study), result.name))
    with contextlib.suppress(ByohpoError, ValueError):
        best = result.best()
        if hasattr(best, "to_dict"):
            print(f"best so far: trial {best.get('trial_id')} objective {best.get('objective')}")
    return EXIT_OK


def _say_warm_start(result: Any, stream: TextIO) -> None:
    """The earlier trials the study started from, per source (none: nothing said)."""
    from byohpo.study._warm_start import describe, recorded_warm_start

    told = recorded_warm_start(result.log)
    for line in describe(told) if told is not None else []:
        print(line, file=stream)


def cmd_results(args: argparse.Namespace) -> int:
    if args.report:
        _check_writable_file(args.report, "the report")
    result = _load(args.study)
    table = result.table()
    if args.format == "csv":
        sys.stdout.write(table.to_csv(index=False))
    elif args.format == "json":
        sys.stdout.write(table.to_json(orient="records", date_format="iso", indent=2) + "\n")
    else:
        print(table.to_string(index=False))
    _say_damage(result.log.damage, args.study, sys.stderr)
    _say_warm_start(result, sys.stderr)
    if args.report:
        from byohpo.results._report import write_report

        write_report(result, args.report)
        print(f"report written to {args.report}", file=sys.stderr)
    return EXIT_OK


def cmd_repair(args: argparse.Namespace) -> int:
    from byohpo.study._damage import repair
    from byohpo.study._tuner import study_location

    done = repair(study_location(args.study), args.study)
    if not done.set_aside:
        print(f"the log of {args.study} is whole: nothing to repair")
        return EXIT_OK
    print(
        f"set {done.set_aside} damaged line(s) aside in {done.aside_path}; "
        f"{done.kept} readable events kept. `byohpo resume {args.study}` continues the study."
    )
    return EXIT_OK


def _check_writable_file(path: str, what: str) -> None:
    """A file we are to write: its folder must exist, and it must not be a folder itself."""
    target = Path(path)
    if target.is_dir():
        raise UserError(
            f"{what} must be a file name", f"{path!r}, a folder", f"Give e.g. {path}/report.html."
        )
    if not target.parent.is_dir():
        raise UserError(
            f"{what}'s folder must exist",
            f"{str(target.parent)!r}, which does not",
            f"Create it first (mkdir -p {target.parent}), or give another path.",
        )


def _load(study: str) -> Any:
    from byohpo.results import StudyResult
    from byohpo.study._store import Store
    from byohpo.study._tuner import study_location

    location = study_location(study)
    log = Store(location).load()
    if not log.study:
        damaged = f"; its log has {len(log.damage)} damaged line(s)" if log.damage else ""
        raise UserError(
            "no study found",
            f"{study!r} (looked in {location}{damaged})",
            "Give the study's name or directory.",
        )
    return StudyResult(log)


def _say_damage(damage: list[str], study: str, stream: Any) -> None:
    """Name each damaged line of a study's log, and the fix."""
    if not damage:
        return
    print(f"damaged: {len(damage)} line(s) of the log cannot be read:", file=stream)
    for line in damage:
        print(f"  {line}", file=stream)
    print(f"`byohpo repair {study}` sets them aside so the study can resume", file=stream)
