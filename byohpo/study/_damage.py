"""Damaged logs: say what was lost, refuse to resume on it, and set damaged lines aside.

``status`` and ``results`` show every readable event and name each damaged line.
``resume`` goes on when nothing is lost (a torn last line is not a loss: that event
was never durable), and otherwise refuses with the line and the fix:
``byohpo repair STUDY`` moves the damaged lines to ``events.damaged.jsonl`` next to
the log, so the study resumes from what is readable. What the damaged lines said
is lost to the study: a job recorded only there is not adopted blindly (its name is
taken, and a resumed study that reaches it stops with a clear error).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from byohpo.errors import DamagedStudyError, UserError
from byohpo.study._local_log import LocalEventLog
from byohpo.study._ownership import holder
from byohpo.study._state import StudyLog
from byohpo.study._store import Store

ASIDE_NAME = "events.damaged.jsonl"


def refuse_damaged(log: StudyLog, study: str) -> None:
    """Raise :class:`DamagedStudyError` when the log lost events (not for a torn tail)."""
    if not log.damage:
        return
    more = len(log.damage) - 3
    lines = "; ".join(log.damage[:3]) + (f"; and {more} more" if more > 0 else "")
    raise DamagedStudyError(
        "a study resumes only from a log it can read whole",
        f"{len(log.damage)} damaged line(s): {lines}",
        f"Run `byohpo repair {study}` to set the damaged lines aside (in {ASIDE_NAME} next to "
        "the log), then resume. `byohpo status` shows what is readable.",
    )


@dataclass(frozen=True)
class Repair:
    """What a repair did."""

    set_aside: int
    kept: int
    aside_path: Path | None


def repair(location: str, study: str) -> Repair:
    """Move the damaged lines of a local study's log aside; keep every readable line."""
    store = Store(location)
    log = store.log
    if not isinstance(log, LocalEventLog):
        raise UserError(
            "byohpo repair works on a study kept in a local directory",
            repr(location),
            "Copy the S3 prefix to a local directory (aws s3 sync), repair it there.",
        )
    running = holder(log.directory)
    if running is not None:
        raise UserError(
            "a study is repaired only while no process runs it",
            f"it is being run by {running}",
            "Wait for it to finish or stop that process, then repair.",
        )
    if not log.path.exists():
        raise UserError(
            "byohpo repair needs the study's log", f"no log at {log.path}", "Check the name."
        )
    damage = store.damage()
    bad = {d.line for d in damage}
    kept_lines: list[str] = []
    aside_lines: list[str] = []
    lines = log.path.read_bytes().decode("utf-8", errors="replace").split("\n")
    for number, line in enumerate(lines[:-1], start=1):  # the last piece: a torn tail, or ""
        if not line.strip():
            continue
        (aside_lines if number in bad else kept_lines).append(line)
    tail = lines[-1]
    if tail.strip():
        aside_lines.append(tail)  # a torn last line: never durable, kept for the record
    aside = log.directory / ASIDE_NAME
    log.replace(
        "".join(f"{line}\n" for line in kept_lines),
        "".join(f"{line}\n" for line in aside_lines),
        aside,
    )
    return Repair(len(aside_lines), len(kept_lines), aside if aside_lines else None)
