"""``byohpo list`` and ``byohpo delete``: the studies kept on this machine."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from byohpo.errors import UserError

EXIT_OK = 0


def add_studies_parsers(sub: Any) -> None:
    """The ``list`` and ``delete`` commands' arguments."""
    sub.add_parser("list", help="the studies kept here: status, best, jobs, cost")
    delete = sub.add_parser(
        "delete", help="delete a study's records here (never SageMaker's jobs, models or logs)"
    )
    delete.add_argument("study", metavar="STUDY")
    delete.add_argument("--yes", action="store_true", help="do not ask first")


def cmd_list(args: argparse.Namespace) -> int:
    from byohpo.cli._catalog import check_studies_dir, list_studies

    root = check_studies_dir()
    studies = list_studies(root)
    if not studies:
        print(f"no studies in {root} (set BYOHPO_STUDIES to look elsewhere)")
        return EXIT_OK
    rows = [("STUDY", "STATUS", "BEST", "JOBS", "COST")]
    for s in studies:
        best = "-" if s.best is None else f"{s.best:.6g}"
        cost = "-" if s.cost != s.cost else f"${s.cost:.2f}"
        rows.append((s.name, s.state, best, str(s.jobs), cost))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        cells = (cell.ljust(width) for cell, width in zip(row, widths, strict=True))
        print("  ".join(cells).rstrip())
    print(f"({len(studies)} studies in {root})")
    return EXIT_OK


def cmd_delete(args: argparse.Namespace) -> int:
    from byohpo.cli._catalog import delete_study, folder_contents, local_study_folder

    folder = local_study_folder(args.study)
    files, size = folder_contents(folder)
    what = (
        f"delete study {args.study!r}: the folder {folder} ({files} files, {size / 1e6:.1f} MB: "
        "its event log, and for a dry run its fake AWS). SageMaker's training jobs, models "
        "and logs are not touched."
    )
    if not args.yes:
        if sys.stdin is None or not sys.stdin.isatty():
            raise UserError(
                "delete asks before removing a study, and nobody can answer here",
                "no terminal to ask on",
                f"Add --yes to delete without asking: byohpo delete {args.study} --yes",
            )
        try:
            answer = input(f"{what}\nDelete? [y/N] ")
        except EOFError:
            answer = ""
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing deleted")
            return EXIT_OK
    else:
        print(what)
    delete_study(folder)
    print(f"deleted {folder}")
    return EXIT_OK
