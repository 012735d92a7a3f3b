"""Upload benchmark: POST /api/v1/media and the direct multipart path against a raw boto3 multipart put.

Run: python bench/bench_upload.py [--mb 400]. Starts SeaweedFS and the web app under gunicorn (one worker
process, as `serve` runs it) on free loopback ports, uploads the same file three ways and prints MB/s and
ratios (goal ≥ 0.9); then the web worker's peak RSS growth for a 50 MB and an 800 MB POST (goal: within 15 MB).
"""
import argparse
import concurrent.futures
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.parse
import uuid
from pathlib import Path

import boto3
from boto3.s3.transfer import TransferConfig

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PART = 16 * 1024 * 1024
MAGIC = b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2avc1mp41"  # sniffed as video; never processed here


def make_file(path, megabytes):
    with open(path, "wb") as fh:
        fh.write(MAGIC)
        for _ in range(megabytes):
            fh.write(os.urandom(1024 * 1024))


def setup(root):
    """Start the store, migrate, and create an exhibitor with a token and a pavilion."""
    from expo import store

    weed, endpoint, keys = store.start(root / "store", "127.0.0.1", store.free_ports(1)[0], "expo",
                                       root / "store.log")
    os.environ.update(EXPO_DATA_DIR=str(root), EXPO_S3_ENDPOINT=endpoint, EXPO_S3_ACCESS_KEY=keys["access_key"],
                      EXPO_S3_SECRET_KEY=keys["secret_key"], EXPO_LOG_LEVEL="WARNING")
    import flask_migrate

    from expo import accounts, create_app
    from expo.extensions import db
    from pavilions import services

    app = create_app()
    with app.app_context():
        flask_migrate.upgrade()
        user = accounts.create_user("bench@expo.bench", "bench-password", "exhibitor")
        token = accounts.mint_token(user)
        pavilion = services.create_pavilion(user, "Bench")
        db.session.commit()
        return weed, endpoint, keys, token, pavilion.id


class Web:
    """gunicorn serving the app with one worker process; knows the worker's pid for its peak memory."""

    def __init__(self, root):
        self.port = __import__("expo.store", fromlist=["free_ports"]).free_ports(1)[0]
        self.process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{self.port}", "-w", "1",
                                         "--threads", "4", "--timeout", "600", "expo:create_app()"], cwd=ROOT,
                                        stdout=subprocess.DEVNULL, stderr=open(root / "web.log", "ab"))  # noqa: SIM115
        for _ in range(100):
            try:
                self.request("GET", "/api/v1/openapi.json")
                break
            except OSError:
                time.sleep(0.2)
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children").read_text().split()
        self.worker = int(children[0])

    def request(self, method, path, body=None, headers=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request(method, path, body=body, headers=headers or {})
        answer = conn.getresponse()
        data = answer.read()
        conn.close()
        return answer.status, data

    def peak_rss_mb(self):
        status = Path(f"/proc/{self.worker}/status").read_text()
        return int(next(line for line in status.splitlines() if line.startswith("VmHWM")).split()[1]) / 1024

    def stop(self):
        self.process.terminate()
        self.process.wait()


def post_media(web, token, pavilion_id, path):
    """POST the file as multipart/form-data, streamed from disk with a Content-Length."""
    boundary = uuid.uuid4().hex
    head = (f'--{boundary}\r\nContent-Disposition: form-data; name="pavilion_id"\r\n\r\n{pavilion_id}\r\n'
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="clip.mp4"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + path.stat().st_size + len(tail)

    def body():
        yield head
        with open(path, "rb") as fh:
            while chunk := fh.read(1024 * 1024):
                yield chunk
        yield tail

    status, data = web.request("POST", "/api/v1/media", body=body(), headers={
        "Authorization": f"Bearer {token}", "Content-Type": f"multipart/form-data; boundary={boundary}",
        "Content-Length": str(size)})
    assert status == 202, data


def _put(url, path, offset, length):
    parts = urllib.parse.urlsplit(url)
    with open(path, "rb") as fh:
        fh.seek(offset)
        data = fh.read(length)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=600)
    conn.request("PUT", f"{parts.path}?{parts.query}", body=data)
    answer = conn.getresponse()
    answer.read()
    conn.close()
    assert answer.status == 200, answer.status
    return answer.getheader("ETag")


def direct_upload(web, token, pavilion_id, path):
    """The browser's path: start, PUT parts three at a time straight to the store, complete."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    size = path.stat().st_size
    status, data = web.request("POST", "/api/v1/uploads", json.dumps(
        {"pavilion_id": pavilion_id, "filename": "clip.mp4", "size": size}), headers)
    assert status == 201, data
    upload = json.loads(data)
    part = upload["part_size"]
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        etags = list(pool.map(lambda p: _put(p["url"], path, (p["number"] - 1) * part, part), upload["parts"]))
    parts = [{"number": p["number"], "etag": e} for p, e in zip(upload["parts"], etags, strict=True)]
    status, data = web.request("POST", f"/api/v1/uploads/{upload['id']}/complete", json.dumps({"parts": parts}),
                               headers)
    assert status == 202, data


def raw_boto3(endpoint, keys, path):
    s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=keys["access_key"],
                      aws_secret_access_key=keys["secret_key"], region_name="us-east-1")
    s3.upload_file(str(path), "expo", f"bench/{uuid.uuid4().hex}",
                   Config=TransferConfig(multipart_chunksize=PART, max_concurrency=3))


def timed(fn, *args, runs=3):
    """Return the median wall time of RUNS calls."""
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        fn(*args)
        samples.append(time.perf_counter() - started)
    return sorted(samples)[len(samples) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=400)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        weed, endpoint, keys, token, pavilion_id = setup(root)
        try:
            big = root / "big.bin"
            make_file(big, args.mb)
            web = Web(root)
            try:
                raw = timed(raw_boto3, endpoint, keys, big)
                post = timed(post_media, web, token, pavilion_id, big)
                direct = timed(direct_upload, web, token, pavilion_id, big)
            finally:
                web.stop()
            peaks = {}
            for megabytes in (50, 800):
                sample = root / f"m{megabytes}.bin"
                make_file(sample, megabytes)
                web = Web(root)
                try:
                    before = web.peak_rss_mb()
                    post_media(web, token, pavilion_id, sample)
                    peaks[megabytes] = (before, web.peak_rss_mb())
                finally:
                    web.stop()
                sample.unlink()
        finally:
            weed.terminate()
            weed.wait()
    mb = args.mb
    print(f"file: {mb} MB of random bytes; part size 16 MiB; three parallel streams for boto3 and direct; "
          "median of 3 runs each")
    print(f"raw boto3 multipart put: {raw:6.2f} s  {mb / raw:6.1f} MB/s")
    print(f"POST /api/v1/media:      {post:6.2f} s  {mb / post:6.1f} MB/s  ratio {raw / post:.2f} (goal >= 0.90)")
    print(f"direct multipart upload: {direct:6.2f} s  {mb / direct:6.1f} MB/s  ratio {raw / direct:.2f} (goal >= 0.90)")
    for megabytes, (before, after) in peaks.items():
        print(f"web worker peak RSS, {megabytes:>3} MB POST: {before:.1f} MB before, {after:.1f} MB after")
    print(f"peak difference 800 MB vs 50 MB: {peaks[800][1] - peaks[50][1]:.1f} MB (goal <= 15)")


if __name__ == "__main__":
    main()
