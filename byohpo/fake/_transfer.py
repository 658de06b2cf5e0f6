"""Files between the fake S3 and a job's local directories, as SageMaker moves them.

Channels (``S3Prefix``) are downloaded before training, the code archive is unpacked, the
model and output directories are uploaded as tarballs afterwards, and the checkpoint
directory is synced both ways. These transfers use the fake's own S3 client, so they are
not counted as the user's API calls.
"""

from __future__ import annotations

import io
import re
import tarfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

_VIRTUAL_HOSTED = re.compile(r"^https://([^.]+)\.s3[.-][^/]*amazonaws\.com/?(.*)$")
_PATH_STYLE = re.compile(r"^https://s3[.-][^/]*amazonaws\.com/([^/]+)/?(.*)$")


class TransferError(Exception):
    """A transfer that failed; the message is what SageMaker would put in FailureReason."""


@dataclass(frozen=True)
class S3Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> S3Location:
        """An ``s3://bucket/key`` URI (or an ``https://`` S3 URL, as SageMaker accepts)."""
        if uri.startswith("s3://"):
            bucket, _, key = uri[len("s3://") :].partition("/")
            return cls(bucket, key)
        match = _VIRTUAL_HOSTED.match(uri) or _PATH_STYLE.match(uri)
        if match:
            return cls(match.group(1), match.group(2))
        raise TransferError(f"ClientError: '{uri}' is not an S3 URI.")

    def join(self, *parts: str) -> S3Location:
        key = "/".join([self.key.rstrip("/"), *parts]) if self.key else "/".join(parts)
        return S3Location(self.bucket, key)

    @property
    def uri(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


class S3Transfer:
    """Downloads and uploads for the job runner. Thread-safe (the S3 client is)."""

    def __init__(self, client: S3Client) -> None:
        self._s3 = client

    def keys(self, location: S3Location) -> list[str]:
        """Every key under the location's prefix; empty if the bucket does not exist."""
        keys: list[str] = []
        try:
            for page in self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=location.bucket, Prefix=location.key
            ):
                keys.extend(item["Key"] for item in page.get("Contents", []))
        except ClientError:
            return []
        return keys

    def bucket_exists(self, bucket: str) -> bool:
        try:
            self._s3.head_bucket(Bucket=bucket)
        except ClientError:
            return False
        return True

    def download_prefix(self, location: S3Location, destination: Path) -> int:
        """Mirror every object under the prefix below ``destination``; returns the count."""
        keys = self.keys(location)
        prefix = location.key
        for key in keys:
            if key.endswith("/"):
                continue  # a "folder" placeholder object
            relative = key[len(prefix) :].lstrip("/") or key.rsplit("/", 1)[-1]
            target = (destination / relative).resolve()
            if not target.is_relative_to(destination.resolve()):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            self._s3.download_file(location.bucket, key, str(target))
        return len(keys)

    def extract_tarball(self, location: S3Location, destination: Path) -> None:
        """Download a ``.tar.gz`` and unpack it into ``destination``."""
        try:
            body = self._s3.get_object(Bucket=location.bucket, Key=location.key)["Body"]
            with body:
                data = body.read()
        except ClientError as exc:
            raise TransferError(
                f"ClientError: could not download {location.uri}: "
                f"{exc.response['Error'].get('Message') or exc.response['Error'].get('Code')}"
            ) from exc
        destination.mkdir(parents=True, exist_ok=True)
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as archive:
            archive.extractall(destination, filter="data")

    def upload_tarball(self, source: Path, location: S3Location) -> None:
        """Pack ``source``'s contents as a ``.tar.gz`` at ``location``."""
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
            for path in sorted(source.rglob("*")) if source.is_dir() else []:
                archive.add(path, arcname=str(path.relative_to(source)), recursive=False)
        self._put(location, buffer.getvalue())

    def _put(self, location: S3Location, data: bytes) -> None:
        try:
            self._s3.put_object(Bucket=location.bucket, Key=location.key, Body=data)
        except ClientError as exc:
            raise TransferError(
                f"ClientError: could not upload to {location.uri}: "
                f"{exc.response['Error'].get('Message') or exc.response['Error'].get('Code')}"
            ) from exc

    def sync_up(self, source: Path, location: S3Location, seen: dict[str, tuple[int, int]]) -> int:
        """Upload the files of ``source`` that are new or changed since the last sync.

        ``seen`` remembers (size, mtime) per relative path between calls. Files deleted
        locally stay in S3, as with SageMaker's checkpoint sync. Returns the files uploaded.
        """
        uploaded = 0
        if not source.is_dir():
            return 0
        for path in sorted(source.rglob("*")):
            if not path.is_file():
                continue
            relative = path.relative_to(source).as_posix()
            stat = path.stat()
            signature = (stat.st_size, stat.st_mtime_ns)
            if seen.get(relative) == signature:
                continue
            self._put(location.join(relative), path.read_bytes())
            seen[relative] = signature
            uploaded += 1
        return uploaded

    def sync_down(
        self, location: S3Location, destination: Path, seen: dict[str, tuple[int, int]]
    ) -> int:
        """Download a checkpoint prefix (a folder) into ``destination``; returns the count.

        The files downloaded are recorded in ``seen``, so :meth:`sync_up` does not send
        them back unchanged.
        """
        folder = location if location.key.endswith("/") or not location.key else location.join("")
        count = self.download_prefix(folder, destination)
        for path in destination.rglob("*"):
            if path.is_file():
                stat = path.stat()
                seen[path.relative_to(destination).as_posix()] = (stat.st_size, stat.st_mtime_ns)
        return count
