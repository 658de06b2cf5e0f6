"""Learning curves from CloudWatch Logs: read incrementally, never from the head twice."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from typing import Any

import pytest

from byohpo.backends._logs import LOG_GROUP, CurveReader, MetricParser
from byohpo.backends._retry import RetryingCaller

moto = pytest.importorskip("moto")


@pytest.fixture
def logs(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    import boto3

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(name, "testing")
    with moto.mock_aws():
        client = boto3.client("logs", region_name="us-east-1")
        client.create_log_group(logGroupName=LOG_GROUP)
        yield client


NOW_MS = int(time.time() * 1000)


def write(client: Any, stream: str, lines: list[tuple[int, str]]) -> None:
    events = [{"timestamp": NOW_MS + t, "message": m} for t, m in lines]
    client.put_log_events(logGroupName=LOG_GROUP, logStreamName=stream, logEvents=events)


def test_the_parser_takes_the_first_number_of_each_metric_per_line() -> None:
    parser = MetricParser(
        {"acc": r"Validation-accuracy=([0-9\.]+)", "loss": r"loss=(\S+)", "bad": r"x=(\w+)"}
    )
    assert parser.parse("Epoch[1] Validation-accuracy=0.95 loss=0.2") == [
        ("acc", 0.95),
        ("loss", 0.2),
    ]
    assert parser.parse("x=abc loss=nan Validation-accuracy=0.9.1") == []
    assert parser.names == ["acc", "loss", "bad"]


def test_each_read_fetches_only_new_lines(logs: Any) -> None:
    job = "study-t00001"
    stream = f"{job}/algo-1-1700000000"
    call = RetryingCaller(rng=random.Random(0))
    reader = CurveReader(logs, call, job, MetricParser({"acc": r"acc=([0-9.]+)"}))
    assert reader.read() == {}  # nothing logged yet
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    write(logs, stream, [(1_000, "start"), (2_000, "acc=0.5"), (3_500, "acc=0.7\nacc=0.75")])
    assert reader.read() == {"acc": [(1.0, 0.5), (2.5, 0.7), (2.5, 0.75)]}
    calls_before = call.calls["GetLogEvents"]
    assert reader.read() == {"acc": [(1.0, 0.5), (2.5, 0.7), (2.5, 0.75)]}
    assert call.calls["GetLogEvents"] == calls_before + 1  # one call to learn nothing is new
    write(logs, stream, [(5_000, "acc=0.9")])
    calls_before = call.calls["GetLogEvents"]
    assert reader.read()["acc"][-1] == (4.0, 0.9)
    assert call.calls["GetLogEvents"] == calls_before + 1  # a few new lines: one call
    assert call.calls["DescribeLogStreams"] == 2  # stops looking once the stream is known
    reader.finished = True
    calls_before = sum(call.calls.values())
    assert len(reader.read()["acc"]) == 4
    assert sum(call.calls.values()) == calls_before


def test_a_read_catches_up_with_a_long_log_in_one_go(logs: Any) -> None:
    job = "study-t00002"
    stream = f"{job}/algo-1-1700000000"
    logs.create_log_stream(logGroupName=LOG_GROUP, logStreamName=stream)
    for start in range(0, 3_000, 1_000):
        write(logs, stream, [(start + i, f"acc={i / 1000:.3f}") for i in range(1_000)])
    call = RetryingCaller(rng=random.Random(0))
    reader = CurveReader(logs, call, job, MetricParser({"acc": r"acc=([0-9.]+)"}))
    assert len(reader.read()["acc"]) == 3_000
