"""What the fake changes around it while active: AWS credentials in the environment, and
the fake's own boto3 clients, whose requests go straight to moto.

The environment gets fake credentials (so no request can reach a real account with real
ones) and the fake's region; the profile and session tokens are cleared. Everything is put
back as it was when the fake stops.
"""

from __future__ import annotations

import functools
import os

import boto3
from botocore.client import BaseClient

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "FOOBARKEY",
    "AWS_SECRET_ACCESS_KEY": "FOOBARSECRET",
}
_CLEARED = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE")


class FakeEnvironment:
    """Fake credentials and region in ``os.environ`` between :meth:`enter` and :meth:`leave`."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._saved: dict[str, str | None] = {}

    def enter(self) -> None:
        self._saved = {
            name: os.environ.get(name)
            for name in (*FAKE_CREDENTIALS, *_CLEARED, "AWS_DEFAULT_REGION")
        }
        os.environ.update(FAKE_CREDENTIALS)
        os.environ["AWS_DEFAULT_REGION"] = self.region
        for name in _CLEARED:
            os.environ.pop(name, None)

    def leave(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved = {}


class InternalClients:
    """The fake's own clients: their requests are neither counted nor answered by the fake."""

    def __init__(self, region: str) -> None:
        self.region = region
        self._clients: list[BaseClient] = []
        self._configs: set[int] = set()

    def client(self, service: str) -> BaseClient:
        client: BaseClient = _internal_session().client(  # type: ignore[call-overload]
            service, region_name=self.region
        )
        self._clients.append(client)
        self._configs.add(id(client.meta.config))
        return client

    def made(self, client_config: object) -> bool:
        """Whether a request with this client configuration comes from one of these clients."""
        return id(client_config) in self._configs

    def close(self) -> None:
        for client in self._clients:
            client.close()
        self._clients.clear()
        self._configs.clear()


@functools.cache
def _internal_session() -> boto3.session.Session:
    """The session of the fake's own clients, kept across fakes: loading the service models
    again at every start would make each start slow."""
    return boto3.session.Session(
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
