"""Buckets on demand: a dry run's fake S3 has every bucket a request or a job names.

A real account answers ``NoSuchBucket`` for a bucket nobody created; a dry run should need
no setup, so the fake account (with ``create_buckets``) creates a bucket the first time a
request names it, and the output and checkpoint buckets of a job when the job is created.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

from botocore.client import BaseClient
from botocore.exceptions import ClientError

logger = logging.getLogger(__name__)

BUCKET_OPERATIONS = frozenset({"CreateBucket", "DeleteBucket", "ListBuckets"})
"""S3 operations that create or remove a bucket, or name none: never given one on demand."""


def bucket_in_url(url: str) -> str | None:
    """The bucket an S3 request's URL names (virtual-hosted or path style), if any."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    marker = max(host.rfind(".s3."), host.rfind(".s3-"))
    if marker > 0:
        return host[:marker]
    first = parts.path.lstrip("/").split("/", 1)[0]
    return unquote(first) or None


def buckets_of_job(params: Mapping[str, Any]) -> list[str]:
    """The buckets a CreateTrainingJob request writes to: its output and its checkpoints."""
    uris = [
        (params.get("OutputDataConfig") or {}).get("S3OutputPath"),
        (params.get("CheckpointConfig") or {}).get("S3Uri"),
    ]
    return [
        uri[len("s3://") :].split("/", 1)[0]
        for uri in uris
        if isinstance(uri, str) and uri.startswith("s3://")
    ]


class BucketsOnDemand:
    """Creates a named bucket that does not exist yet, once. Thread-safe: a request naming a
    bucket waits until the bucket exists."""

    def __init__(self, s3: BaseClient, region: str) -> None:
        self._s3 = s3
        self._region = region
        self._lock = threading.Lock()
        self._known: set[str] = set()

    def needed(self, bucket: str | None) -> None:
        if not bucket:
            return
        with self._lock:
            if bucket in self._known:
                return
            try:
                self._s3.head_bucket(Bucket=bucket)  # type: ignore[attr-defined]
            except ClientError:
                kwargs: dict[str, Any] = {"Bucket": bucket}
                if self._region != "us-east-1":
                    kwargs["CreateBucketConfiguration"] = {"LocationConstraint": self._region}
                self._s3.create_bucket(**kwargs)  # type: ignore[attr-defined]
                logger.info("created bucket %s, which a request named", bucket)
            self._known.add(bucket)
