"""The media store: evidence files on disk, sealed, named by the SHA-256 of their content,
with a size limit and a content-type check done on the bytes themselves (a declared type is
not trusted). Read them through `read` or `load`, never from their path."""

from __future__ import annotations

import asyncio
import hashlib
import os
import tempfile
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from storage import sealing


class MediaProblem(StrEnum):
    TOO_LARGE = "too_large"
    UNSUPPORTED = "unsupported"
    UNREADABLE = "unreadable"
    EMPTY = "empty"


class MediaRejected(Exception):
    def __init__(self, problem: MediaProblem) -> None:
        super().__init__(problem.value)
        self.problem = problem


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    content_type: str
    size: int


def sniff(data: bytes) -> str | None:
    """The content type of the bytes, for the kinds of evidence residents send; else None."""
    head = data[:16]
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if head.startswith(b"OggS"):
        return "audio/ogg"
    if data[4:8] == b"ftyp":
        brand = data[8:12]
        if brand in (b"heic", b"heix", b"mif1", b"msf1"):
            return "image/heic"
        if brand.startswith(b"M4A"):
            return "audio/mp4"
        if brand.startswith(b"3g"):
            return "video/3gpp"
        return "video/mp4"
    if head.startswith(b"PK\x03\x04") and b"word/" in data[:4096]:
        return "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    return None


class MediaStore:
    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = root
        self.max_bytes = max_bytes

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def check(self, data: bytes) -> str:
        """The content type of acceptable evidence, or MediaRejected saying why not."""
        if not data:
            raise MediaRejected(MediaProblem.EMPTY)
        if len(data) > self.max_bytes:
            raise MediaRejected(MediaProblem.TOO_LARGE)
        content_type = sniff(data)
        if content_type is None:
            raise MediaRejected(MediaProblem.UNSUPPORTED)
        return content_type

    async def put(self, data: bytes) -> StoredFile:
        """Stores the file sealed (storage/sealing.py), named by the SHA-256 of its content."""
        content_type = self.check(data)
        sha256 = hashlib.sha256(data).hexdigest()
        path = self.path(sha256)
        if not path.exists():
            await asyncio.to_thread(write_file, path, sealing.keyring().seal_bytes(data))
        return StoredFile(sha256=sha256, content_type=content_type, size=len(data))

    async def read(self, sha256: str) -> bytes:
        """A stored file's content (FileNotFoundError when it is gone)."""
        return await self.load(self.path(sha256))

    @staticmethod
    async def load(path: Path) -> bytes:
        """The content of a file of the store, opened; any other file (the library's) as it is."""
        blob = await asyncio.to_thread(path.read_bytes)
        return sealing.keyring().open_bytes(blob)

    async def delete(self, sha256: str) -> None:
        await asyncio.to_thread(self.path(sha256).unlink, missing_ok=True)


def write_file(path: Path, data: bytes, *, replace: bool = False) -> None:
    """Writes the file whole and synced before it gets its name, so a crash leaves no torn
    file; an existing file is kept unless `replace`."""
    if path.exists() and not replace:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".incoming-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
