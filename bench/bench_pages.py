"""Page benchmark: requests per second of the demo's pavilion page and hall against a minimal Flask page.

Run: python bench/bench_pages.py [--seconds 8] [--connections 8]. Starts `python -m expo demo` on free ports
(SeaweedFS, worker, web under gunicorn as `serve` runs it), waits until its pavilions are published, then serves a
minimal Flask page under gunicorn with the same workers and threads, and loads each URL in turn from a separate
load process with keep-alive connections, as anonymous visitors. Prints requests per second and the ratio
minimal / page (goal ≤ 1.5), and the hall's page weight: its HTML, CSS and JS, gzip-compressed (goal < 100 KB).
"""
import argparse
import gzip
import http.client
import multiprocessing
import re
import secrets
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WEB_WORKERS = 2  # `serve`'s default; gunicorn threads: 4, as in expo/serve.py

MINIMAL = textwrap.dedent('''
    from flask import Flask
    app = Flask(__name__)

    @app.get("/")
    def index():
        return "<!doctype html><html><head><title>Minimal</title></head><body><p>Hello</p></body></html>"
''')


BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _load(port, path, seconds, counter, browser=False):
    """GET PATH on one keep-alive connection for SECONDS; BROWSER: as a browser with a `vid` cookie of its own."""
    headers = {"Accept-Language": "zh-CN,zh;q=0.9", "Accept-Encoding": "identity"}
    if browser:
        headers.update({"User-Agent": BROWSER, "Cookie": f"vid={secrets.token_hex(16)}"})
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            raise SystemExit(f"GET {path} answered {answer.status}")
        done += 1
    with counter.get_lock():
        counter.value += done


def rps(port, path, seconds, connections, browser=False):
    """Return (requests per second over SECONDS from CONNECTIONS keep-alive clients in separate processes,
    requests sent in all, the warm-up's included)."""
    warm = multiprocessing.Value("i", 0)
    _load(port, path, 0.5, warm, browser)  # warm: first renders fill caches
    counter = multiprocessing.Value("i", 0)
    workers = [multiprocessing.Process(target=_load, args=(port, path, seconds, counter, browser))
               for _ in range(connections)]
    started = time.monotonic()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return counter.value / (time.monotonic() - started), counter.value + warm.value


def get(port, path):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", path)
    answer = conn.getresponse()
    return answer.status, answer.read()


def start_demo(root):
    from expo.store import free_ports

    port, s3, sandbox = free_ports(3)
    log = open(root / "demo.log", "wb")  # noqa: SIM115 - open for the life of the process
    process = subprocess.Popen([sys.executable, "-m", "expo", "demo", "--data", str(root / "data"), "--port",
                                str(port), "--s3-port", str(s3), "--sandbox-port", str(sandbox), "--web-workers",
                                str(WEB_WORKERS)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
                               start_new_session=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            status, body = get(port, "/")
            slugs = re.findall(rb'href="/pavilions/([^"?]+)"', body)
            if status == 200 and len(set(slugs)) >= 3:
                return process, port, sorted(set(slugs))
        except OSError:
            pass
        time.sleep(1)
    process.terminate()
    raise SystemExit(f"the demo did not publish its pavilions in time; see {root / 'demo.log'}")


def start_minimal(root):
    from expo.store import free_ports

    (root / "minimal_app.py").write_text(MINIMAL)
    port = free_ports(1)[0]
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(WEB_WORKERS),
                                "--threads", "4", "minimal_app:app"], cwd=root, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    for _ in range(100):
        try:
            get(port, "/")
            return process, port
        except OSError:
            time.sleep(0.1)
    raise SystemExit("the minimal app did not start")


def stop(*processes, timeout=20):
    """Terminate PROCESSES together, then kill any that has not exited within TIMEOUT seconds."""
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()


def page_weight(port, path):
    """Gzip-compressed bytes of PATH's HTML plus the stylesheets and scripts it loads."""
    _status, html = get(port, path)
    total = len(gzip.compress(html))
    for asset in sorted(set(re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js)[^"]*)"', html))):
        _status, body = get(port, asset.decode())
        total += len(gzip.compress(body))
    return total


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=8)
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="expo-bench-pages-") as tmp:
        root = Path(tmp)
        demo, port, slugs = start_demo(root)
        minimal, minimal_port = start_minimal(root)
        try:
            print(f"demo on :{port} with pavilions {', '.join(s.decode() for s in slugs)}")
            weight = page_weight(port, "/")
            print(f"hall page weight (HTML+CSS+JS, gzip): {weight / 1024:.1f} KB (goal < 100 KB)")
            base = rps(minimal_port, "/", args.seconds, args.connections)[0]
            print(f"minimal Flask page:   {base:8.0f} req/s")
            for label, path in (("hall /", "/"), ("pavilion page", f"/pavilions/{slugs[0].decode()}")):
                measured = rps(port, path, args.seconds, args.connections)[0]
                print(f"{label:20s}  {measured:8.0f} req/s   ratio minimal/page {base / measured:.2f} (goal ≤ 1.5)")
        finally:
            stop(demo, minimal)


if __name__ == "__main__":
    main()
