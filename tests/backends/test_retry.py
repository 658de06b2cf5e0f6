"""Retries: throttling, server errors and timeouts are retried with full-jitter backoff; a
user's mistake is not; every request sent is counted."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from botocore.stub import Stubber

from byohpo.backends._retry import RetryingCaller, RetryPolicy, client_config, is_retryable
from byohpo.errors import BackendError


class StepClock:
    """Virtual time: sleeping advances it at once."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += max(0.0, seconds)


def client_error(code: str, status: int = 400) -> ClientError:
    response: Any = {
        "Error": {"Code": code, "Message": code},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(response, "ListTrainingJobs")


def failing(errors: list[BaseException], result: str = "ok") -> Callable[..., str]:
    def method(**kwargs: Any) -> str:
        if errors:
            raise errors.pop(0)
        return result

    return method


@pytest.mark.parametrize(
    "error",
    [
        client_error("ThrottlingException"),
        client_error("ThrottledException"),
        client_error("TooManyRequestsException", 429),
        client_error("InternalServerError", 500),
        client_error("SomethingNew", 503),
        EndpointConnectionError(endpoint_url="https://api.sagemaker"),
        ReadTimeoutError(endpoint_url="https://api.sagemaker"),
    ],
)
def test_transient_errors_are_retried_until_the_call_succeeds(error: BaseException) -> None:
    clock = StepClock()
    call = RetryingCaller(clock=clock, rng=random.Random(1))
    assert is_retryable(error)
    assert call("ListTrainingJobs", failing([error, error, error])) == "ok"
    assert call.calls["ListTrainingJobs"] == 4
    assert len(clock.sleeps) == 3


@pytest.mark.parametrize(
    "code", ["ValidationException", "ResourceInUse", "ResourceLimitExceeded", "AccessDenied"]
)
def test_mistakes_and_refusals_are_not_retried(code: str) -> None:
    call = RetryingCaller(clock=StepClock())
    with pytest.raises(ClientError) as info:
        call("CreateTrainingJob", failing([client_error(code)]))
    assert info.value.response["Error"]["Code"] == code
    assert call.calls["CreateTrainingJob"] == 1


def test_backoff_is_full_jitter_exponential_and_capped() -> None:
    policy = RetryPolicy(max_attempts=20, base_delay=0.5, max_delay=30.0)
    rng = random.Random(7)
    for retry in range(12):
        ceiling = min(30.0, 0.5 * 2**retry)
        delays = [policy.delay(retry, rng) for _ in range(200)]
        assert all(0.0 <= d <= ceiling for d in delays)
        assert max(delays) > 0.8 * ceiling  # spread over the whole range
        assert min(delays) < 0.2 * ceiling


def test_attempts_run_out_into_a_backend_error_after_twenty_by_default() -> None:
    clock = StepClock()
    call = RetryingCaller(clock=clock, rng=random.Random(3))
    throttle = client_error("ThrottlingException")
    with pytest.raises(BackendError, match="after 20 attempts") as info:
        call("ListTrainingJobs", failing([throttle] * 25))
    assert isinstance(info.value.__cause__, ClientError)
    assert call.calls["ListTrainingJobs"] == 20
    assert call.throttled["ListTrainingJobs"] == 20
    assert len(clock.sleeps) == 19
    assert sum(clock.sleeps) < 19 * 30.0


def test_botocore_sends_each_request_once_so_that_every_one_is_counted() -> None:
    session = boto3.Session(
        region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    client = session.client("sagemaker", config=client_config())
    config: Any = client.meta.config
    assert config.retries["total_max_attempts"] == 1
    call = RetryingCaller(clock=StepClock(), rng=random.Random(0))
    with Stubber(client) as stub:
        stub.add_client_error("list_training_jobs", "ThrottlingException", http_status_code=400)
        stub.add_client_error("list_training_jobs", "InternalFailure", http_status_code=500)
        stub.add_response("list_training_jobs", {"TrainingJobSummaries": []})
        page = call("ListTrainingJobs", client.list_training_jobs, NameContains="study")
        stub.assert_no_pending_responses()
    assert page["TrainingJobSummaries"] == []
    assert call.calls["ListTrainingJobs"] == 3
    assert call.throttled["ListTrainingJobs"] == 1


def test_a_bad_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts >= 1"):
        RetryPolicy(max_attempts=0)
