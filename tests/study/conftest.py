"""The three stores a study's log can live in, each opened twice (two processes' views)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from byohpo.study._store import LocalEventLog, MemoryEventLog, S3EventLog

Opener = Callable[[], Any]


@pytest.fixture(params=["local", "s3", "memory"])
def opener(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Opener]:
    """A function that opens the same log again each time it is called."""
    if request.param == "local":
        yield lambda: LocalEventLog(tmp_path / "study")
    elif request.param == "memory":
        shared = MemoryEventLog()
        yield lambda: shared
    else:
        moto = pytest.importorskip("moto")
        with moto.mock_aws():
            s3 = boto3.client("s3", region_name="us-east-1")
            s3.create_bucket(Bucket="studies")
            yield lambda: S3EventLog("s3://studies/team/digits", client=s3)
