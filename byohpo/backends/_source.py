"""Packing a job's code as ``sourcedir.tar.gz``, the archive SageMaker's script mode unpacks.

The archive is deterministic (sorted entries, fixed times and owners), so the
same code always gives the same bytes and the same content hash: a study
uploads its code once, and a resumed study finds it already there.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

EXCLUDED_NAMES = frozenset(
    {"__pycache__", ".git", ".ipynb_checkpoints", ".DS_Store", ".cache", ".mypy_cache", ".venv"}
)
"""Folders and files never packed (as the SageMaker SDK leaves out caches and VCS data)."""
EXCLUDED_SUFFIXES = (".pyc", ".pyo")


def _files(source: Path) -> list[tuple[Path, str]]:
    if source.is_file():
        return [(source, source.name)]
    found = []
    for path in sorted(source.rglob("*")):
        relative = path.relative_to(source)
        if any(part in EXCLUDED_NAMES for part in relative.parts):
            continue
        if path.is_file() and not path.name.endswith(EXCLUDED_SUFFIXES):
            found.append((path, relative.as_posix()))
    return found


def pack_source(source: str | Path) -> bytes:
    """The gzipped tar of a directory (its contents at the archive's root), or of one file."""
    buffer = io.BytesIO()
    with (
        gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0) as zipped,
        tarfile.open(fileobj=zipped, mode="w", format=tarfile.PAX_FORMAT) as tar,
    ):
        for path, name in _files(Path(source)):
            data = path.read_bytes()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if path.stat().st_mode & 0o111 else 0o644
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def content_digest(archive: bytes) -> str:
    """A short content hash, used in the archive's S3 key."""
    return hashlib.sha256(archive).hexdigest()[:16]
