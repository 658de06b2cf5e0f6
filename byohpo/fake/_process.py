"""A training script running as a local process, its output read line by line.

The script runs in its own process group, so stopping the job stops everything it started:
SIGTERM first (SageMaker's signal on StopTrainingJob and at MaxRuntimeInSeconds), then
SIGKILL once the grace period is over.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class OutputLine:
    timestamp: float
    text: str
    stderr: bool


_EOF = object()


class ScriptProcess:
    """One script's process and the threads that read its stdout and stderr.

    Not thread-safe: one job worker owns it. :meth:`close` must be called (it is
    idempotent); afterwards no process or thread of this script is left.
    """

    def __init__(self, command: Sequence[str], cwd: Path, env: Mapping[str, str]) -> None:
        self.command = list(command)
        self._cwd = cwd
        self._env = dict(env)
        self._process: subprocess.Popen[bytes] | None = None
        self._lines: queue.Queue[OutputLine | object] = queue.Queue()
        self._readers: list[threading.Thread] = []
        self._open_streams = 0
        self._closed = False

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def start(self) -> int:
        """Start the script; returns its pid (also its process group id)."""
        self._process = subprocess.Popen(
            self.command,
            cwd=self._cwd,
            env=self._env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        for stream, is_stderr in ((self._process.stdout, False), (self._process.stderr, True)):
            assert stream is not None  # both are pipes
            reader = threading.Thread(
                target=self._read,
                args=(stream, is_stderr),
                name=f"byohpo-fake-output-{self._process.pid}",
                daemon=True,
            )
            reader.start()
            self._readers.append(reader)
            self._open_streams += 1
        return self._process.pid

    def _read(self, stream: IO[bytes], is_stderr: bool) -> None:
        try:
            for raw in iter(stream.readline, b""):
                text = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                self._lines.put(OutputLine(time.time(), text, is_stderr))
        except (OSError, ValueError):
            pass  # the pipe was closed under us while shutting down
        finally:
            self._lines.put(_EOF)

    def read_lines(self, timeout: float) -> list[OutputLine]:
        """The lines printed since the last call, waiting up to ``timeout`` for the first."""
        lines: list[OutputLine] = []
        try:
            item = self._lines.get(timeout=timeout)
            while True:
                if item is _EOF:
                    self._open_streams -= 1
                elif isinstance(item, OutputLine):
                    lines.append(item)
                item = self._lines.get_nowait()
        except queue.Empty:
            pass
        return lines

    @property
    def finished(self) -> bool:
        """The process has exited and all its output has been read."""
        return self._open_streams == 0 and self.poll() is not None

    def poll(self) -> int | None:
        return self._process.poll() if self._process else None

    def _signal_group(self, signum: int) -> None:
        # Once closed, the group id may belong to a new process: never signal it again.
        if self._process is None or self._closed:
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self._process.pid, signum)

    def kill_leftovers(self) -> None:
        """SIGKILL what the script left running in its group (as a container's end does)."""
        self._signal_group(signal.SIGKILL)

    def send_sigterm(self) -> None:
        """Ask the whole group to stop (SIGTERM), as SageMaker does; returns at once."""
        if self._process is not None and self._process.poll() is None:
            self._signal_group(signal.SIGTERM)

    def close(self) -> int | None:
        """Kill what is left of the group, reap the process, stop the readers; the exit code."""
        if self._process is None:
            return None
        # Whatever the script left behind in its group goes with the container.
        self._signal_group(signal.SIGKILL)
        code = self._process.wait()
        self._closed = True
        for reader in self._readers:
            reader.join(timeout=5)
        if not any(reader.is_alive() for reader in self._readers):
            # A reader blocked on a pipe an escaped process holds would deadlock close().
            for stream in (self._process.stdout, self._process.stderr):
                if stream is not None:
                    stream.close()
        return code
