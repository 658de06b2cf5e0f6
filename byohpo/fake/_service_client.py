"""The client's side of the fake-AWS service: find it, start it, point boto3 at it, stop it.

A service belongs to a state directory (a command-line dry run's is ``<store>/fake-aws``).
In it, ``service.json`` says where the service answers (its port and process id) and, once
it has ended, when and why; ``service.log`` is its output. A later process finds the
service again from that file: the process must be alive and its port must answer with the
same process id.

Only the standard library is needed here: the service itself (moto, the job runner) lives
in another process, started on demand with ``python -m byohpo.fake._service``.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import os
import signal
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from byohpo.errors import BackendError

STATE_FILE = "service.json"
LOG_FILE = "service.log"
LOCK_FILE = "service.lock"
HOST = "127.0.0.1"
"""The service listens on the loopback interface only."""
CONTROL_PATH = "/byohpo-fake"
"""The service's own requests: ``GET .../status`` and ``POST .../shutdown``."""
DEFAULT_IDLE_TIMEOUT = 300.0
"""Seconds without a running job and without a request after which a service ends itself."""
START_TIMEOUT = 60.0
FAKE_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "FOOBARKEY", "AWS_SECRET_ACCESS_KEY": "FOOBARSECRET"}
_CLEARED = (
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
_ENDPOINT_VARIABLE = "AWS_ENDPOINT_URL"


@dataclass(frozen=True)
class ServiceState:
    """What ``service.json`` holds."""

    pid: int
    port: int
    started_at: float
    idle_timeout: float
    ended_at: float | None = None
    end_reason: str | None = None

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ServiceState:
        return cls(
            pid=int(data["pid"]),
            port=int(data["port"]),
            started_at=float(data["started_at"]),
            idle_timeout=float(data["idle_timeout"]),
            ended_at=None if data.get("ended_at") is None else float(data["ended_at"]),
            end_reason=data.get("end_reason"),
        )

    def describe_end(self) -> str:
        """How this service ended, in a user's words."""
        if self.ended_at is None:
            return (
                f"its process (pid {self.pid}) is no longer running: it was killed, or the "
                "machine restarted"
            )
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(self.ended_at))
        return f"it ended at {when} ({self.end_reason or 'asked to'})"


def read_state(state_dir: str | os.PathLike[str]) -> ServiceState | None:
    """The directory's ``service.json``, or ``None`` if there is none (or it is unreadable)."""
    try:
        return ServiceState.from_json(json.loads((Path(state_dir) / STATE_FILE).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_state(state_dir: str | os.PathLike[str], state: ServiceState) -> None:
    """Replace ``service.json`` atomically: a reader sees the old file or the new one."""
    path = Path(state_dir) / STATE_FILE
    partial = path.with_suffix(f".{os.getpid()}.tmp")
    partial.write_text(json.dumps(asdict(state)) + "\n")
    os.replace(partial, path)


def record_end(state_dir: str | os.PathLike[str], state: ServiceState, reason: str) -> None:
    """Record in ``service.json`` that this service ended, unless a newer service owns it."""
    directory = Path(state_dir)
    with _start_lock(directory):
        current = read_state(directory)
        if current is None or current.pid == state.pid:
            write_state(directory, replace(state, ended_at=time.time(), end_reason=reason))


def process_alive(pid: int) -> bool:
    """The process exists and has not exited (a zombie has; it is reaped if it is our child)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):
        if os.waitpid(pid, os.WNOHANG)[0] == pid:
            return False
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True  # no /proc (macOS): kill(0) succeeding is all we know
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


@dataclass(frozen=True)
class ServiceEndpoint:
    """A running service: where it answers."""

    state_dir: Path
    pid: int
    port: int

    @property
    def url(self) -> str:
        """The endpoint URL boto3 clients use (``AWS_ENDPOINT_URL``)."""
        return f"http://{HOST}:{self.port}"

    def status(self, timeout: float = 5.0) -> dict[str, Any]:
        """The service's own account of itself: its pid, its jobs by status."""
        return _control(self.port, "GET", "status", timeout)


@dataclass(frozen=True)
class ServiceStart:
    """What :func:`start_service` found or did."""

    endpoint: ServiceEndpoint
    found: bool
    """A service of this directory was already running, and is the one used."""
    previous: ServiceState | None
    """When a new service was started: the earlier service of this directory, now gone."""


def _control(port: int, method: str, action: str, timeout: float) -> dict[str, Any]:
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, f"{CONTROL_PATH}/{action}")
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()
    if response.status != 200:
        raise OSError(f"the fake-AWS service answered HTTP {response.status} to {action}")
    answer = json.loads(body)
    if not isinstance(answer, dict):
        raise OSError(f"the fake-AWS service answered {answer!r} to {action}")
    return answer


def find_service(state_dir: str | os.PathLike[str]) -> ServiceEndpoint | None:
    """The directory's running service, or ``None`` if none is running (or it does not answer,
    or it is ending)."""
    state = read_state(state_dir)
    if state is None or state.ended_at is not None or not process_alive(state.pid):
        return None
    endpoint = ServiceEndpoint(Path(state_dir), state.pid, state.port)
    try:
        answered = endpoint.status(timeout=5.0)
    except (OSError, ValueError):
        return None
    if answered.get("pid") != state.pid or answered.get("stopping"):
        return None
    return endpoint


@contextlib.contextmanager
def _start_lock(state_dir: Path) -> Iterator[None]:
    """One process at a time finds or starts a directory's service, so only one starts."""
    with open(state_dir / LOCK_FILE, "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _service_environment() -> dict[str, str]:
    """The service's environment: this one, without anything pointing boto3 elsewhere."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(_ENDPOINT_VARIABLE) and name not in FAKE_CREDENTIALS
    }
    package_root = str(Path(__file__).resolve().parents[2])
    paths = [package_root, *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(paths))
    return env


def start_service(
    state_dir: str | os.PathLike[str],
    *,
    idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    options: Mapping[str, Any] | None = None,
    timeout: float = START_TIMEOUT,
) -> ServiceStart:
    """The directory's running service, started first if none is running.

    The service is a new process in its own session: it outlives the process that started
    it, and a Ctrl-C in that process's terminal does not reach it. It ends by itself after
    ``idle_timeout`` seconds without a running job or a request (0: never), or when asked
    (:func:`stop_service`, SIGTERM). ``options`` are :class:`~byohpo.fake._aws.FakeAWS`
    keyword arguments (JSON values); they apply to a service this call starts, not to one it
    finds. Safe to call from several processes at once.
    """
    directory = Path(state_dir).resolve()
    directory.mkdir(parents=True, exist_ok=True)
    with _start_lock(directory):
        found = find_service(directory)
        if found is not None:
            return ServiceStart(found, found=True, previous=None)
        previous = read_state(directory)
        (directory / STATE_FILE).unlink(missing_ok=True)
        pid = _spawn(directory, idle_timeout, dict(options or {}))
        endpoint = _wait_until_answering(directory, pid, timeout)
        return ServiceStart(endpoint, found=False, previous=previous)


def _spawn(directory: Path, idle_timeout: float, options: Mapping[str, Any]) -> int:
    command = [
        sys.executable,
        "-m",
        "byohpo.fake._service",
        "--state-dir",
        str(directory),
        "--idle-timeout",
        repr(float(idle_timeout)),
        "--options",
        json.dumps(options),
    ]
    log = str(directory / LOG_FILE)
    return os.posix_spawn(
        sys.executable,
        command,
        _service_environment(),
        file_actions=[
            (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
            (os.POSIX_SPAWN_OPEN, 1, log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644),
            (os.POSIX_SPAWN_DUP2, 1, 2),
        ],
        setsid=True,
    )


def _wait_until_answering(directory: Path, pid: int, timeout: float) -> ServiceEndpoint:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = read_state(directory)
        if state is not None and state.pid == pid:
            endpoint = find_service(directory)
            if endpoint is not None:
                return endpoint
        if not process_alive(pid):
            raise BackendError(
                f"the fake-AWS service could not start; its log {directory / LOG_FILE} "
                f"ends with:\n{log_tail(directory)}"
            )
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    raise BackendError(
        f"the fake-AWS service did not answer within {timeout:.0f} s; its log "
        f"{directory / LOG_FILE} ends with:\n{log_tail(directory)}"
    )


def log_tail(state_dir: str | os.PathLike[str], lines: int = 20) -> str:
    """The last lines of the service's log."""
    try:
        text = (Path(state_dir) / LOG_FILE).read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:])


def stop_service(state_dir: str | os.PathLike[str], *, timeout: float = 30.0) -> bool:
    """Ask the directory's running service to end, and wait until its process is gone.

    The service kills its jobs' scripts (their whole process groups) first. Returns whether
    a service was running. Idempotent.
    """
    state = read_state(state_dir)
    if state is None or state.ended_at is not None or not process_alive(state.pid):
        return False
    endpoint = find_service(state_dir)
    try:
        if endpoint is None:
            raise OSError("not answering")
        _control(endpoint.port, "POST", "shutdown", timeout=5.0)
    except (OSError, ValueError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(state.pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while process_alive(state.pid):
        if time.monotonic() >= deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(state.pid, signal.SIGKILL)
            break
        time.sleep(0.05)
    return True


class ServiceEnvironment:
    """Points every boto3 client created from now on at a service, as moto's ``mock_aws``
    does for its in-process fake: ``AWS_ENDPOINT_URL``, fake credentials and the region, set
    in this process's environment until :meth:`restore`. The clients' calls are the same
    calls as against AWS. Not thread-safe (the environment is the process's).
    """

    def __init__(self, url: str, region: str) -> None:
        self.url = url
        self.region = region
        self._saved: dict[str, str | None] | None = None

    @property
    def applied(self) -> bool:
        return self._saved is not None

    def apply(self) -> None:
        if self._saved is not None:
            return
        names = {
            *FAKE_CREDENTIALS,
            *_CLEARED,
            "AWS_DEFAULT_REGION",
            _ENDPOINT_VARIABLE,
            *(n for n in os.environ if n.startswith(_ENDPOINT_VARIABLE)),
        }
        self._saved = {name: os.environ.get(name) for name in names}
        for name in names:
            os.environ.pop(name, None)
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_DEFAULT_REGION"] = self.region
        os.environ[_ENDPOINT_VARIABLE] = self.url

    def restore(self) -> None:
        saved, self._saved = self._saved, None
        for name, value in (saved or {}).items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
