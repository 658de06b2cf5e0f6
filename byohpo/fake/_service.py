"""The fake AWS as a service: a background process that outlives whoever started it.

A dry run should behave as SageMaker does when the orchestrator dies: the jobs go on, and
a later process finds them, their logs and their S3 data. So the fake AWS of a dry run can
live in a process of its own::

    python -m byohpo.fake._service --state-dir DIR [--idle-timeout SECONDS] [--options JSON]

It hosts a :class:`~byohpo.fake._aws.FakeAWS` (moto's backends, byohpo's training-job
lifecycle, the job runner) behind an HTTP endpoint on 127.0.0.1: SageMaker requests
(``X-Amz-Target: SageMaker.*``) are answered by the same handlers the in-process fake
uses; every other request goes to moto's server application (S3, CloudWatch Logs,
CloudWatch, IAM, STS). Clients reach it through ``AWS_ENDPOINT_URL``
(:mod:`byohpo.fake._service_client` finds, starts and stops it).

It writes ``service.json`` (port and pid) in the state directory once it answers, keeps its
jobs in ``jobs/`` there (:mod:`byohpo.fake._job_journal`: a service started later in the same
directory answers for them again) and their S3 objects and log streams in ``data/``
(:mod:`byohpo.fake._kept_data`: put back in a service started there later), and
ends by itself after ``--idle-timeout`` seconds with no job running and no request (0:
never), on SIGTERM or SIGINT, or on ``POST /byohpo-fake/shutdown``. Ending kills every
job's script with its whole process group and records the end in ``service.json``.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import signal
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from http import HTTPStatus
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from byohpo.fake._buckets import bucket_in_url
from byohpo.fake._fault_settings import faults_from_json
from byohpo.fake._service_client import (
    CONTROL_PATH,
    DEFAULT_IDLE_TIMEOUT,
    HOST,
    ServiceState,
    record_end,
    write_state,
)

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

    from byohpo.fake._aws import FakeAWS

log = logging.getLogger("byohpo.fake.service")

_CHECK_SECONDS = 0.5
"""How often the service looks at its jobs and its idle time, and writes its journal and
kept data (22 ms for 1,000 jobs' worth: ``make bench-memory``)."""
JOURNAL_DIR = "jobs"
"""In the state directory: the service's jobs, kept for a service started there later."""
DATA_DIR = "data"
"""In the state directory: its S3 objects and log streams, kept the same way."""


class Activity:
    """When the service last had something to do. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._last = time.monotonic()

    def touch(self) -> None:
        with self._lock:
            self._last = time.monotonic()

    def idle_seconds(self) -> float:
        with self._lock:
            return time.monotonic() - self._last

    def end_if_idle(self, timeout: float, stopping: threading.Event) -> bool:
        """Set ``stopping`` if nothing happened for ``timeout`` seconds; whether it did.

        Decided under the lock requests touch, so a client that just found the service
        (its status request touched) can use it: the service is not ending under it.
        """
        with self._lock:
            if time.monotonic() - self._last < timeout:
                return False
            stopping.set()
            return True


class ServiceApp:
    """The WSGI application: SageMaker training-job operations answered by the fake, the
    service's own control requests, and everything else passed to moto's application."""

    def __init__(
        self,
        fake: FakeAWS,
        moto_app: WSGIApplication,
        activity: Activity,
        stopping: threading.Event,
    ) -> None:
        self._fake = fake
        self._moto = moto_app
        self._activity = activity
        self._stopping = stopping

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        self._activity.touch()
        path = str(environ.get("PATH_INFO", ""))
        if path.startswith(f"{CONTROL_PATH}/"):
            return self._control(path[len(CONTROL_PATH) + 1 :], environ, start_response)
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if target.startswith("SageMaker."):
            body = _read_body(environ)
            region = _region(environ, self._fake.region)
            answer = self._fake.answer_sagemaker(target.partition(".")[2], region, body)
            if answer is not None:
                return _respond(start_response, *answer)
            environ["wsgi.input"] = io.BytesIO(body)  # moto reads the body again
            environ["CONTENT_LENGTH"] = str(len(body))
        elif _signed_for(environ) == "s3" and not _creates_or_removes_bucket(environ, path):
            self._fake.bucket_needed(bucket_in_url(f"http://{environ.get('HTTP_HOST', '')}{path}"))
        return self._moto(environ, start_response)

    def _control(
        self, action: str, environ: WSGIEnvironment, start_response: StartResponse
    ) -> Iterable[bytes]:
        method = environ.get("REQUEST_METHOD")
        if action == "status" and method == "GET":
            return _respond(start_response, 200, self.status(), "application/json")
        if action == "shutdown" and method == "POST":
            self._stopping.set()
            return _respond(start_response, 200, {"stopping": True}, "application/json")
        return _respond(start_response, 404, {"message": f"no {method} {action}"})

    def status(self) -> dict[str, Any]:
        jobs = self._fake.jobs()
        return {
            "pid": os.getpid(),
            "stopping": self._stopping.is_set(),
            "jobs": dict(Counter(str(job.status) for job in jobs)),
            "running": len(self._fake.running_jobs),
            "idle_seconds": round(self._activity.idle_seconds(), 1),
        }


def _read_body(environ: WSGIEnvironment) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ["wsgi.input"]
    return bytes(stream.read(length)) if length > 0 else b""


def _signed_for(environ: WSGIEnvironment) -> str:
    """The service a request is signed for (``Credential=KEY/DATE/REGION/SERVICE/...``)."""
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    _, found, credential = authorization.partition("Credential=")
    parts = credential.split(",", 1)[0].split("/")
    return parts[3] if found and len(parts) > 4 else ""


def _creates_or_removes_bucket(environ: WSGIEnvironment, path: str) -> bool:
    """CreateBucket or DeleteBucket: PUT or DELETE of a bucket itself, with no sub-resource."""
    on_bucket = "/" not in path.strip("/") and not environ.get("QUERY_STRING")
    return on_bucket and environ.get("REQUEST_METHOD") in ("PUT", "DELETE")


def _region(environ: WSGIEnvironment, default: str) -> str:
    """The region in the request's signature (``Credential=KEY/DATE/REGION/SERVICE/...``)."""
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    _, found, credential = authorization.partition("Credential=")
    parts = credential.split(",", 1)[0].split("/")
    return parts[2] if found and len(parts) > 3 and parts[2] else default


def _respond(
    start_response: StartResponse,
    status: int,
    payload: object,
    content_type: str = "application/x-amz-json-1.1",
) -> list[bytes]:
    body = json.dumps(payload, separators=(",", ":")).encode()
    start_response(
        f"{status} {HTTPStatus(status).phrase}",
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("x-amzn-RequestId", str(uuid.uuid4())),
        ],
    )
    return [body]


def _busy(fake: FakeAWS) -> bool:
    """A job is queued, running or stopping."""
    return any(not job.status.is_terminal for job in fake.jobs())


def serve(state_dir: Path, idle_timeout: float, options: Mapping[str, Any]) -> str:
    """Run the service until it is idle, asked to end, or signalled; returns why it ended."""
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from byohpo.fake._aws import FakeAWS

    stop = threading.Event()
    reason = ["asked to shut down"]

    def on_signal(signum: int, frame: FrameType | None) -> None:
        reason[0] = f"signal {signal.Signals(signum).name}"
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    started_at = time.time()
    settings = dict(options)
    if isinstance(settings.get("faults"), Mapping):
        settings["faults"] = faults_from_json(settings["faults"])
    settings.setdefault("journal", str(state_dir / JOURNAL_DIR))
    settings.setdefault("kept_data", str(state_dir / DATA_DIR))
    # SageMaker's job events are published; a study wanting them makes its rule and queue.
    settings.setdefault("events", True)
    settings.setdefault("events_queue_name", None)
    fake = FakeAWS(**settings)
    fake.start()
    server = None
    thread = None
    state: ServiceState | None = None
    try:
        activity = Activity()
        app = ServiceApp(fake, DomainDispatcherApplication(create_backend_app), activity, stop)
        server = make_server(HOST, 0, app, threaded=True, request_handler=MotoRequestHandler)
        thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="byohpo-fake-http"
        )
        thread.start()
        state = ServiceState(os.getpid(), server.server_port, started_at, idle_timeout)
        write_state(state_dir, state)
        log.info("answering on http://%s:%d (pid %d)", HOST, state.port, state.pid)
        while not stop.wait(_CHECK_SECONDS):
            fake.save_journal()
            if _busy(fake):
                activity.touch()
            elif idle_timeout > 0 and activity.end_if_idle(idle_timeout, stop):
                # From now on, whoever looks for this service starts a new one.
                reason[0] = f"idle for {idle_timeout:g} s: no job running, no request"
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(10)
        busy = [job.name for job in fake.jobs() if not job.status.is_terminal]
        fake.save_journal()  # before the kill: a job running now is remembered as lost
        if busy:
            log.info("killing the jobs still running: %s", ", ".join(busy))
        fake.stop()
    if state is not None:
        record_end(state_dir, state, reason[0])
    log.info("ended: %s", reason[0])
    return reason[0]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m byohpo.fake._service",
        description="A fake AWS (S3, CloudWatch Logs, IAM, STS and SageMaker training jobs) "
        "answering on 127.0.0.1, in which training scripts really run.",
    )
    parser.add_argument(
        "--state-dir", required=True, help="where service.json (port, pid) is written"
    )
    parser.add_argument(
        "--idle-timeout",
        type=float,
        default=DEFAULT_IDLE_TIMEOUT,
        help="end after this many seconds with no job running and no request (0: never)",
    )
    parser.add_argument(
        "--options", default="{}", help="FakeAWS keyword arguments, as a JSON object"
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s: %(message)s", stream=sys.stderr
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # not a line per request
    options = json.loads(args.options)
    if not isinstance(options, dict):
        log.error("--options must be a JSON object, not %r", args.options)
        return 2
    state_dir = Path(args.state_dir)
    state_dir.mkdir(parents=True, exist_ok=True)
    try:
        serve(state_dir, args.idle_timeout, options)
    except Exception:
        log.exception("the fake-AWS service failed")
        return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
