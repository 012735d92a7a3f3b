"""Peak-load benchmark: visitors touring the demo expo under `serve` (gunicorn), measured with locust.

Run: python bench/load_tour.py [--users 200] [--spawn-rate 20] [--seconds 60]. Starts `python -m expo demo` on free
ports (as `serve` runs it: SeaweedFS, a Celery worker, gunicorn), waits until its pavilions are published, makes an
API token for each visitor who will take a contest, then runs bench/locustfile.py twice from a separate locust
process on loopback, ramping to USERS concurrent visitors and holding them for SECONDS:
  1. visitors alone;
  2. the same visitors while an exhibitor uploads a 1080p video and the worker transcodes it, again and again.
Prints, for each run: requests per second, error rate (goal 0), p50 and p99 latency (goal p99 < 300 ms on a 2-core
machine), per request kind; then the p99 ratio of run 2 to run 1 (goal ≤ 1.2).
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))
sys.path.insert(0, str(ROOT))

from bench_pages import start_demo, stop  # noqa: E402 - after the path is set

ACCOUNTS = """
import json, sys
from expo import accounts, create_app
from expo.extensions import db
from pavilions.models import Pavilion  # noqa: F401
app = create_app()
with app.app_context():
    tokens = []
    for n in range(int(sys.argv[1])):
        user = accounts.create_user(f"visitor-{sys.argv[2]}{n}@load.test", "load-test-password", "visitor")
        tokens.append(accounts.mint_token(user))
    exhibitor = accounts.create_user(f"exhibitor-{sys.argv[2]}@load.test", "load-test-password", "exhibitor")
    print(json.dumps({"visitors": tokens, "exhibitor": accounts.mint_token(exhibitor)}))
    db.session.commit()
"""


def make_accounts(data, visitors, tag):
    """Create VISITORS visitor accounts and one exhibitor in the demo's database; return their API tokens."""
    done = subprocess.run([sys.executable, "-c", ACCOUNTS, str(visitors), tag], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "EXPO_DATA_DIR": str(data)}, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def run_locust(port, users, spawn_rate, seconds, tokens_file, prefix):
    """Run the locustfile headless; return locust's aggregated and per-name rows (name -> row)."""
    ramp = users / spawn_rate
    subprocess.run([sys.executable, "-m", "locust", "-f", str(ROOT / "bench" / "locustfile.py"), "--headless",
                    "--users", str(users), "--spawn-rate", str(spawn_rate), "--run-time", f"{int(ramp + seconds)}s",
                    "--host", f"http://127.0.0.1:{port}", "--csv", str(prefix), "--only-summary",
                    "--loglevel", "WARNING", "--stop-timeout", "10"], cwd=ROOT, check=False,
                   env={**os.environ, "EXPO_LOAD_TOKENS": str(tokens_file)}, stdout=subprocess.DEVNULL,
                   stderr=open(f"{prefix}.log", "wb"))  # noqa: SIM115 - closed with the process
    if not Path(f"{prefix}_stats.csv").exists():
        raise SystemExit(f"locust wrote no figures:\n{Path(f'{prefix}.log').read_text()[-3000:]}")
    with open(f"{prefix}_failures.csv", newline="") as rows:
        for row in csv.DictReader(rows):
            print(f"  failed {row['Occurrences']}×: {row['Method']} {row['Name']}: {row['Error'][:160]}")
    with open(f"{prefix}_stats.csv", newline="") as rows:
        return {row["Name"]: row for row in csv.DictReader(rows)}


def warm(port, slugs):
    """Render each page once, as the first visitors after a deploy would, so run 1 does not measure a cold start."""
    paths = ["/", "/?q=安全", "/works", "/contests", "/live", *(f"/pavilions/{s.decode()}" for s in slugs)]
    for language in ("zh-CN", "en"):
        for path in paths:
            requests.get(f"http://127.0.0.1:{port}{path}", headers={"Accept-Language": language}, timeout=30)


def report(label, rows):
    """Print one run's figures; return the aggregated p99 in ms."""
    print(f"\n== {label}")
    print(f"{'request':36s} {'count':>7s} {'req/s':>7s} {'errors':>7s} {'p50 ms':>7s} {'p99 ms':>7s}")
    for name, row in sorted(rows.items(), key=lambda item: item[0] == "Aggregated"):
        print(f"{name:36s} {row['Request Count']:>7s} {float(row['Requests/s']):7.1f} "
              f"{row['Failure Count']:>7s} {row['50%']:>7s} {row['99%']:>7s}")
    total = rows["Aggregated"]
    errors = int(total["Failure Count"]) / max(1, int(total["Request Count"]))
    print(f"error rate {errors:.4%} (goal 0); p99 {total['99%']} ms (goal < 300 ms)")
    return float(total["99%"])


class Exhibitor(threading.Thread):
    """Upload a video and wait for its transcode, again and again, until stopped."""

    def __init__(self, port, token, video):
        super().__init__(daemon=True)
        self.base, self.video, self.stop = f"http://127.0.0.1:{port}", video, threading.Event()
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {token}"
        self.done, self.busy_s, self.errors = 0, 0.0, []

    def run(self):
        pavilion = self.session.post(f"{self.base}/api/v1/pavilions", json={"name": "Load test booth"}).json()
        while not self.stop.is_set():
            started = time.monotonic()
            with open(self.video, "rb") as body:
                answer = self.session.post(f"{self.base}/api/v1/media", data={"pavilion_id": pavilion["id"]},
                                           files={"file": ("booth.mp4", body, "video/mp4")})
            if answer.status_code != 202:
                self.errors.append(f"upload answered {answer.status_code}: {answer.text[:200]}")
                return
            media = answer.json()["id"]
            while not self.stop.is_set():
                status = self.session.get(f"{self.base}/api/v1/media/{media}").json()["status"]
                if status in ("ready", "failed"):
                    self.done += status == "ready"
                    if status == "failed":
                        self.errors.append(f"transcode failed: {media}")
                    break
                time.sleep(1)
            self.busy_s += time.monotonic() - started


def make_video(path, seconds):
    from media.transcode import synthesize

    synthesize(path, seconds, video=(1920, 1080))
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=20)
    parser.add_argument("--seconds", type=int, default=60)
    args = parser.parse_args()
    os.environ["EXPO_TRUSTED_PROXIES"] = "1"  # locust plays the CDN: each visitor's address in X-Forwarded-For
    with tempfile.TemporaryDirectory(prefix="expo-load-") as tmp:
        root = Path(tmp)
        video = make_video(root / "booth.mp4", 30)
        demo, port, slugs = start_demo(root)
        try:
            print(f"demo on :{port}, pavilions {', '.join(s.decode() for s in slugs)}; "
                  f"{args.users} visitors, ramp {args.users / args.spawn_rate:.0f} s, then {args.seconds} s; "
                  f"the video {video.stat().st_size / 1e6:.1f} MB, 30 s 1080p")
            tokens = make_accounts(root / "data", args.users, "a")
            warm(port, slugs)
            tokens_file = root / "tokens.json"
            tokens_file.write_text(json.dumps(tokens["visitors"]))
            quiet = report("visitors alone", run_locust(port, args.users, args.spawn_rate, args.seconds, tokens_file,
                                                         root / "alone"))
            # Fresh accounts for the second run: each visitor takes each contest once.
            tokens_file.write_text(json.dumps(make_accounts(root / "data", args.users, "b")["visitors"]))
            exhibitor = Exhibitor(port, tokens["exhibitor"], video)
            exhibitor.start()
            busy = report("visitors while a video is uploaded and transcoded",
                          run_locust(port, args.users, args.spawn_rate, args.seconds, tokens_file, root / "busy"))
            exhibitor.stop.set()
            exhibitor.join(timeout=120)
            print(f"\nduring run 2: {exhibitor.done} upload(s) transcoded to ready, exhibitor busy "
                  f"{exhibitor.busy_s:.0f} s; errors: {exhibitor.errors or 'none'}")
            print(f"p99 with the upload and transcode / p99 alone: {busy / quiet:.2f} (goal ≤ 1.2)")
            logged = [line for log in sorted((root / "data" / "logs").glob("*.log"))
                      for line in log.read_text(errors="replace").splitlines() if " ERROR " in line]
            print(f"errors the expo logged: {len(logged)}", *logged[-15:], sep="\n  ")
        finally:
            stop(demo, timeout=30)


if __name__ == "__main__":
    main()
