"""One study, one running process: a local study is claimed by the process that runs it.

``byohpo run`` and ``resume`` (and ``Tuner.run``) hold an OS-level lock on
``<store>/run.lock`` for as long as they run the study, with their process id and
command line written in it. A second process that tries to run the same study is
refused with a message naming the first. The lock goes with the process: a killed
run leaves nothing to clean up. ``stop``, ``status`` and ``results`` need no claim.
"""

from __future__ import annotations

import fcntl
import os
import sys
import time
from pathlib import Path
from typing import IO

from byohpo.errors import StudyBusyError

LOCK_NAME = "run.lock"


class StudyClaim:
    """This process's claim on a local study, held until :meth:`release`."""

    def __init__(self, directory: Path, handle: IO[str]) -> None:
        self.directory = directory
        self._handle: IO[str] | None = handle

    def release(self) -> None:
        if self._handle is not None:
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None


def _describe(text: str) -> str:
    fields = dict(line.split("=", 1) for line in text.splitlines() if "=" in line)
    pid = fields.get("pid", "?")
    command = fields.get("command", "")
    since = fields.get("since", "")
    return (
        f"process {pid}"
        + (f" ({command})" if command else "")
        + (f", running it since {since}" if since else "")
    )


def claim(directory: str | os.PathLike[str], study_name: str) -> StudyClaim:
    """Claim the study in ``directory`` for this process, or refuse if another holds it."""
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / LOCK_NAME
    handle = open(path, "a+")  # noqa: SIM115  (kept open while the claim is held)
    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.seek(0)
        holder = _describe(handle.read())
        handle.close()
        raise StudyBusyError(
            "a study is run by one process at a time",
            f"study {study_name!r} is being run by {holder}",
            "Wait for it to finish, follow it with `byohpo status "
            f"{study_name}`, or stop that process and then `byohpo resume {study_name}`.",
        ) from None
    handle.seek(0)
    handle.truncate()
    command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
    handle.write(
        f"pid={os.getpid()}\ncommand={command}\nsince={time.strftime('%Y-%m-%d %H:%M:%S %Z')}\n"
    )
    handle.flush()
    return StudyClaim(folder, handle)


def holder(directory: str | os.PathLike[str]) -> str | None:
    """Who runs the study in ``directory`` now, or None when no live process does."""
    path = Path(directory) / LOCK_NAME
    try:
        handle = open(path)  # noqa: SIM115
    except OSError:
        return None
    with handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _describe(handle.read())
        fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
        return None
