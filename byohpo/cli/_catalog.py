"""The studies kept on this machine: listing them, deleting one, starting one over.

These act on byohpo's own records (a study's folder: its event log and, for a dry
run, its fake AWS). They never touch SageMaker's training jobs, models or logs.
"""

from __future__ import annotations

import math
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from byohpo.errors import ByohpoError, StoreError, UserError
from byohpo.results import StudyResult
from byohpo.study._store import Store, StudyLog
from byohpo.study._tuner import studies_dir, study_location

EVENTS_FILE = "events.jsonl"


def check_studies_dir() -> Path:
    """``studies_dir()``, or a clear error when ``$BYOHPO_STUDIES`` names something else."""
    directory = studies_dir()
    if directory.exists() and not directory.is_dir():
        raise UserError(
            "BYOHPO_STUDIES must name a directory (where studies are kept)",
            f"{str(directory)!r}, which is a file",
            "Point BYOHPO_STUDIES at a directory (it is created if missing), or unset it "
            "to use ./byohpo-studies.",
        )
    return directory


@dataclass(frozen=True)
class StudySummary:
    """One line of ``byohpo list``."""

    name: str
    state: str
    best: float | None
    jobs: int
    cost: float
    location: str


def summarize(location: str | os.PathLike[str]) -> StudySummary:
    """What ``byohpo list`` says of the study stored at ``location``."""
    result = StudyResult(Store(location).load())
    best: float | None = None
    try:
        row = result.best()
    except (ByohpoError, ValueError):
        row = None
    if isinstance(row, pd.Series) and "objective" in row.index:
        best = float(row["objective"])
    if result.stop_reason:
        state = f"finished ({result.stop_reason})"
    elif result.log.interruptions:
        state = "interrupted"
    else:
        state = "running or interrupted"
    cost = result.total_cost
    return StudySummary(
        name=result.name,
        state=state,
        best=best,
        jobs=result.jobs_launched,
        cost=cost if math.isfinite(cost) else float("nan"),
        location=str(location),
    )


def list_studies(directory: Path | None = None) -> list[StudySummary]:
    """Every study in ``directory`` (default: the studies directory), by name."""
    root = directory if directory is not None else check_studies_dir()
    if not root.is_dir():
        return []
    found = []
    for events in sorted(root.glob(f"*/{EVENTS_FILE}")):
        try:
            summary = summarize(events.parent)
        except (StoreError, KeyError, ValueError):
            summary = StudySummary(
                events.parent.name, "unreadable log", None, 0, float("nan"), str(events.parent)
            )
        if summary.name:
            found.append(summary)
    return found


def local_study_folder(study: str) -> Path:
    """The folder of a study kept on this machine, or a clear error."""
    location = study_location(study)
    if location.startswith("s3://"):
        raise UserError(
            "byohpo can delete only studies kept on this machine",
            location,
            "Delete the S3 prefix with `aws s3 rm --recursive` if you mean to.",
        )
    folder = Path(location)
    if not (folder / EVENTS_FILE).is_file():
        raise UserError(
            "no study found",
            f"{study!r} (looked in {folder})",
            "See `byohpo list` for the studies kept here.",
        )
    return folder


def folder_contents(folder: Path) -> tuple[int, int]:
    """Files and bytes under ``folder``."""
    files = [p for p in folder.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def delete_study(folder: Path) -> None:
    """Remove a study's folder, after ending its dry run's fake AWS if it is running."""
    from byohpo.cli._dry_run import SERVICE_DIR

    if (folder / SERVICE_DIR).is_dir():
        from byohpo.fake._service_client import stop_service

        stop_service(folder / SERVICE_DIR)
    shutil.rmtree(folder)


def never_launched(log: StudyLog) -> bool:
    """True when no job of the study was ever created: starting it over costs nothing."""
    return bool(log.study) and not any(t.submitted for t in log.trials.values())


def set_aside(folder: Path) -> Path:
    """Move a study's event log aside (kept for reference), so the name can start over."""
    for n in range(1, 1000):
        target = folder / f"events.abandoned-{n}.jsonl"
        if not target.exists():
            (folder / EVENTS_FILE).rename(target)
            return target
    raise UserError("too many abandoned starts", str(folder), "Delete the study folder.")
