"""Object storage: a local folder by default, any S3-compatible endpoint when configured."""

from __future__ import annotations

import asyncio
import os
import tempfile
from pathlib import Path
from typing import Any, Protocol

from seniorsafe.config import Settings


class ObjectNotFound(KeyError):
    pass


class Storage(Protocol):
    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None: ...
    async def get(self, key: str) -> bytes: ...
    async def delete(self, key: str) -> None: ...
    async def exists(self, key: str) -> bool: ...
    async def ping(self) -> bool: ...


def _safe_key(key: str) -> str:
    parts = [p for p in key.split("/") if p]
    if not parts or any(p in (".", "..") for p in parts):
        raise ValueError(f"invalid object key {key!r}")
    return "/".join(parts)


class LocalStorage:
    """Objects as files below one folder; writes are atomic (temp file + rename)."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _path(self, key: str) -> Path:
        return self.root / _safe_key(key)

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        await asyncio.to_thread(self._write, self._path(key), data)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)

    async def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return await asyncio.to_thread(path.read_bytes)
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    async def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    async def ping(self) -> bool:
        self.root.mkdir(parents=True, exist_ok=True)
        return os.access(self.root, os.W_OK)


class S3Storage:
    """Any S3-compatible endpoint through boto3, run in worker threads."""

    def __init__(self, settings: Settings) -> None:
        import boto3
        from botocore.config import Config

        self.bucket = settings.s3_bucket
        self.client: Any = boto3.client(
            "s3",
            endpoint_url=settings.s3_endpoint_url,
            aws_access_key_id=settings.s3_access_key,
            aws_secret_access_key=settings.s3_secret_key,
            region_name=settings.s3_region,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"},
                          s3={"addressing_style": "path"}),
        )
        self._bucket_ready = False

    async def _ensure_bucket(self) -> None:
        if self._bucket_ready:
            return
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
        except ClientError:
            await asyncio.to_thread(self.client.create_bucket, Bucket=self.bucket)
        self._bucket_ready = True

    async def put(self, key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
        await self._ensure_bucket()
        await asyncio.to_thread(self.client.put_object, Bucket=self.bucket, Key=_safe_key(key), Body=data,
                                ContentType=content_type)

    async def get(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        await self._ensure_bucket()
        try:
            obj = await asyncio.to_thread(self.client.get_object, Bucket=self.bucket, Key=_safe_key(key))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                raise ObjectNotFound(key) from exc
            raise
        body: bytes = await asyncio.to_thread(obj["Body"].read)
        return body

    async def delete(self, key: str) -> None:
        await self._ensure_bucket()
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=_safe_key(key))

    async def exists(self, key: str) -> bool:
        from botocore.exceptions import ClientError

        await self._ensure_bucket()
        try:
            await asyncio.to_thread(self.client.head_object, Bucket=self.bucket, Key=_safe_key(key))
        except ClientError:
            return False
        return True

    async def ping(self) -> bool:
        await self._ensure_bucket()
        return True


def make_storage(settings: Settings) -> Storage:
    if settings.storage_backend == "s3":
        return S3Storage(settings)
    return LocalStorage(settings.storage_dir)
