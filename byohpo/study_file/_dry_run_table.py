"""The ``[dry_run]`` table: local inputs put into the fake S3, and ``[dry_run.faults]``."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from byohpo.errors import StudyFileError, UserError
from byohpo.study_file._keys import check_type, unknown_key

if TYPE_CHECKING:
    from byohpo.fake._faults import Faults


def dry_run_inputs(
    dry: Mapping[str, Any], channels: Mapping[str, str], where: str, base: Path | None
) -> dict[str, Path]:
    """``[dry_run] inputs``: S3 URI of each named channel -> an existing local path."""
    inputs: dict[str, Path] = {}
    for key in dry:
        if key not in ("inputs", "faults"):
            raise unknown_key(key, ["inputs", "faults"], where, "dry_run")
    table = dry.get("inputs", {})
    if not isinstance(table, dict):
        raise StudyFileError(
            "must be a table of channel = local folder",
            repr(table),
            f'Write inputs = {{ {next(iter(channels), "train")} = "data/train" }}.',
            path=where,
            key="dry_run.inputs",
        )
    for channel, local in table.items():
        check_type(local, str, where, f"dry_run.inputs.{channel}")
        if channel not in channels:
            raise StudyFileError(
                "a dry-run input must name one of the job's input channels",
                repr(channel),
                f"Use one of {sorted(channels)}.",
                path=where,
                key=f"dry_run.inputs.{channel}",
            )
        folder = ((base or Path.cwd()) / local).resolve()
        if not folder.exists():
            raise StudyFileError(
                "a dry-run input must be an existing local folder or file "
                "(relative paths start at the study file)",
                str(folder),
                "Create it, or correct the path.",
                path=where,
                key=f"dry_run.inputs.{channel}",
            )
        inputs[channels[channel]] = folder
    return inputs


def dry_run_faults(dry: Mapping[str, Any], where: str) -> Faults | None:
    """``[dry_run.faults]``: e.g. ``throttle = 0.3``, ``fail = 0.1``, ``capacity = 0.05``."""
    from byohpo.fake._fault_settings import faults_from_table

    table = dry.get("faults")
    if table is None:
        return None
    if not isinstance(table, dict):
        raise StudyFileError(
            "must be a table of fault = fraction",
            repr(table),
            "Write [dry_run.faults] with lines such as throttle = 0.3 and fail = 0.1.",
            path=where,
            key="dry_run.faults",
        )
    try:
        return faults_from_table(table, "[dry_run.faults]")
    except UserError as exc:
        raise StudyFileError(exc.must, exc.got, exc.fix, path=where, key="dry_run.faults") from None
