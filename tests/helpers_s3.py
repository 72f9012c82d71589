"""A local S3-compatible server (moto's server mode) for the object-storage tests and benchmark.

Why a subprocess and not ``ThreadedMotoServer``: in-process, moto's request threads would compete
for this process's GIL with the embedder and LanceDB, and its keep-alive handler threads would
outlive every test (the suite fails tests that leave threads running). The port is a free one
picked here; the network guard is told to allow exactly that endpoint.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGION = "us-east-1"
#: moto accepts any key pair unless authentication is switched on (:meth:`MotoS3.require_auth`).
ACCESS_KEY = "satchel-test-key"
SECRET_KEY = "satchel-test-secret"


@dataclass
class MotoS3:
    """A running moto server: its endpoint and the storage options that reach it."""

    endpoint: str
    process: subprocess.Popen[bytes]

    def options(self, **overrides: str) -> dict[str, str]:
        """LanceDB storage options for this server (short timeouts: it is on loopback)."""
        return {"endpoint": self.endpoint, "allow_http": "true", "region": REGION,
                "aws_access_key_id": ACCESS_KEY, "aws_secret_access_key": SECRET_KEY,
                **overrides}

    def client(self) -> Any:  # boto3 is a test-only dependency
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY)

    def new_bucket(self, prefix: str = "satchel") -> str:
        """A fresh, empty bucket (one per test keeps tests apart on one server)."""
        name = f"{prefix}-{uuid.uuid4().hex[:10]}"
        self.client().create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        """Every object key in ``bucket``."""
        pages = self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [o["Key"] for page in pages for o in page.get("Contents", [])]

    @contextmanager
    def require_auth(self) -> Iterator[None]:
        """Refuse every request whose access key moto does not know (none is known) for the
        block: how "wrong credentials" look to a client."""
        import urllib.request

        def post(value: str) -> None:
            request = urllib.request.Request(f"{self.endpoint}/moto-api/reset-auth",
                                             data=value.encode(), method="POST",
                                             headers={"Content-Type": "text/plain"})
            urllib.request.urlopen(request, timeout=10).read()

        post("0")
        try:
            yield
        finally:
            post("inf")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_moto(log: Path | None = None, timeout_s: float = 60) -> MotoS3:
    """Start ``python -m moto.server`` on a free loopback port and wait until it answers."""
    from engine import netguard

    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    netguard.allow_endpoint("127.0.0.1", port)
    with open(log or os.devnull, "wb") as out:  # the child keeps its own copy
        proc = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p",
                                 str(port)], stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"moto server exited with {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return MotoS3(endpoint, proc)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError("moto server did not start")


def stop_moto(server: MotoS3) -> None:
    server.process.terminate()
    try:
        server.process.wait(10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait(10)


def cas_worker(folder: str, worker: int, count: int, barrier: Any) -> None:
    """Change the metadata ``count`` times through the object-store code path on a local folder
    (a child process of the compare-and-swap race test; here so the child imports little)."""
    from engine import storage, storage_meta

    location = storage.Location(folder, True, ())
    barrier.wait()
    for i in range(count):
        storage_meta.update_meta(lambda raw, i=i: raw.__setitem__(f"w{worker}-{i}", {"i": i}),
                                 location)
