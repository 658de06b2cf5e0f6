"""SageMaker's wire protocol as botocore sees it: JSON 1.1 requests, responses and errors.

The fake answers a request inside botocore, from a ``before-send`` handler, the way moto
does: no socket is opened and every boto3 client behaves exactly as against AWS (its
retries, its error parsing, its paginators). One handler is registered with botocore the
first time a fake starts, ahead of moto's own; it does nothing while no fake is active.

botocore calls every ``before-send`` handler and keeps the first answer, so moto's handler
would still process (and sometimes fail on) a request the fake answered. A request the
fake answers is therefore marked, and moto's handler is taught to pass marked requests by.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable, Iterator
from io import BytesIO
from typing import Any

from botocore import handlers as botocore_handlers
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.compat import HTTPHeaders

RequestHandler = Callable[[str, str, AWSPreparedRequest], "AWSResponse | None"]
"""``(service, operation, request) -> response``, or ``None`` to let moto answer."""


class ServiceError(Exception):
    """An error SageMaker would answer with: an error code, a message, an HTTP status."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.status = status


def validation_error(message: str) -> ServiceError:
    return ServiceError("ValidationException", message)


class _RawBody(BytesIO):
    """A response body botocore can read and stream."""

    def stream(self, **kwargs: Any) -> Iterator[bytes]:
        contents = self.read()
        while contents:
            yield contents
            contents = self.read()


def _response(request: AWSPreparedRequest, status: int, payload: object) -> AWSResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = HTTPHeaders()
    headers["x-amzn-RequestId"] = str(uuid.uuid4())
    headers["Content-Type"] = "application/x-amz-json-1.1"
    headers["Content-Length"] = str(len(body))
    return AWSResponse(request.url, status, headers, _RawBody(body))


def answer_response(request: AWSPreparedRequest, status: int, payload: object) -> AWSResponse:
    """An answer of the given HTTP status; botocore raises an error answer (see
    :func:`error_payload`) as ``ClientError``."""
    return _response(request, status, payload)


def error_payload(error: ServiceError) -> dict[str, str]:
    """The JSON body of an error answer, as SageMaker writes it."""
    return {"__type": error.code, "message": error.message}


def decode_params(body: bytes | str | None) -> dict[str, Any]:
    """An operation's parameters, decoded from a JSON 1.1 request body."""
    if body is None or body in (b"", ""):
        return {}
    try:
        decoded = json.loads(body)
    except ValueError as exc:
        raise ServiceError("SerializationException", "The request body is not JSON") from exc
    if not isinstance(decoded, dict):
        raise ServiceError("SerializationException", "The request body is not a JSON object")
    return decoded


def request_body(request: AWSPreparedRequest) -> bytes | str | None:
    """The request's body; a file-like body is read (SageMaker requests never stream)."""
    body: Any = request.body
    if body is not None and hasattr(body, "read"):
        body = body.read()
    return bytes(body) if isinstance(body, bytearray) else body


def request_context(request: AWSPreparedRequest) -> dict[str, Any]:
    """What botocore attached to the request (its client's region and config)."""
    context = getattr(request, "context", None)
    return context if isinstance(context, dict) else {}


def request_region(request: AWSPreparedRequest) -> str:
    """The region of the client that sent the request."""
    region = request_context(request).get("client_region")
    if isinstance(region, str) and region:
        return region
    host = request.url.split("://", 1)[-1].split("/", 1)[0]
    parts = host.split(".")
    return parts[2] if len(parts) > 3 else "us-east-1"


_ANSWERED = "_byohpo_fake_answered"
_SEEN = "_byohpo_fake_seen"


def _teach_moto_to_skip_answered_requests() -> None:
    try:
        from moto.core.botocore_stubber import BotocoreStubber
    except ImportError:  # without moto there is nothing to skip
        return
    original = BotocoreStubber.__call__
    if getattr(original, _ANSWERED, False):
        return

    def call(stubber: Any, event_name: str, request: AWSPreparedRequest, **kwargs: Any) -> Any:
        if getattr(request, _ANSWERED, False):
            return None
        return original(stubber, event_name, request, **kwargs)

    setattr(call, _ANSWERED, True)
    BotocoreStubber.__call__ = call  # type: ignore[method-assign, assignment]


class _Dispatcher:
    """The one ``before-send`` handler botocore knows of; forwards to the active fake."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._active: RequestHandler | None = None
        self._registered = False

    def __call__(self, request: AWSPreparedRequest, **kwargs: Any) -> AWSResponse | None:
        handler = self._active
        if handler is None or getattr(request, _SEEN, False):
            return None  # inactive, or registered twice on this client
        setattr(request, _SEEN, True)
        event_name = str(kwargs.get("event_name", ""))
        parts = event_name.split(".")
        if len(parts) < 3:
            return None
        response = handler(parts[1], parts[2], request)
        if response is not None:
            setattr(request, _ANSWERED, True)
        return response

    @property
    def busy(self) -> bool:
        """A fake is active."""
        return self._active is not None

    def activate(self, handler: RequestHandler) -> None:
        with self._lock:
            if self._active is not None:
                raise RuntimeError(
                    "Another fake AWS is already active; stop it before starting a new one."
                )
            if not self._registered:
                # REGISTER_FIRST puts this handler ahead of moto's, whatever the import order.
                botocore_handlers.BUILTIN_HANDLERS.append(
                    ("before-send", self, botocore_handlers.REGISTER_FIRST)
                )
                _teach_moto_to_skip_answered_requests()
                self._registered = True
            self._active = handler

    def deactivate(self, handler: RequestHandler) -> None:
        with self._lock:
            if self._active == handler:
                self._active = None

    def register_on(self, events: Any) -> None:
        """Register on one client's event system (for a client created before the fake)."""
        events.register_first("before-send", self)


dispatcher = _Dispatcher()
"""The process-wide handler. Thread-safe; at most one fake is active at a time."""
