"""Counting benchmark: requests per second of a cached pavilion page (anonymous visitors) with the statistics'
counting on against off, in the same run.

Run: python bench/bench_counting.py [--seconds 4] [--connections 8] [--rounds 8]. Starts `python -m expo demo` on
free ports and waits until its pavilions are published, then starts two more web servers on its data, both under
gunicorn as `serve` runs its web server (same workers and threads), one with EXPO_STATS=1 and one with EXPO_STATS=0
(the demo's own server stays idle, so the two differ in nothing else). Each visitor is a browser (a browser's
User-Agent, its own `vid` cookie) on a keep-alive connection in a separate load process. The two servers are
loaded in turn, ROUNDS times each. Prints each round's requests per second, the ratio on / off of the best of each
and the median of the rounds' ratios (goal ≥ 0.95; on a busy machine the median is the steadier figure), the
counting's cost per view measured in-process, and checks that every view sent while counting was on was counted.
"""
import argparse
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_pages import BROWSER, WEB_WORKERS, get, rps, start_demo, stop  # noqa: E402


def start_web(data, counting):
    """A web server on the demo's data, counting or not, run as `serve` runs its web server."""
    from expo.store import free_ports

    port = free_ports(1)[0]
    env = {**os.environ, "EXPO_DATA_DIR": str(data), "EXPO_STATS": "1" if counting else "0"}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-b", f"127.0.0.1:{port}", "-w", str(WEB_WORKERS),
                                "--threads", "4", "--timeout", "120", "--graceful-timeout", "5", "expo:create_app()"],
                               cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               start_new_session=True)
    for _ in range(300):
        try:
            if get(port, "/")[0] == 200:
                return process, port
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("a web server did not start")


def cost_per_view(data):
    """Microseconds the counting adds to one page view, measured in this process (no network, no other load)."""
    import timeit

    os.environ["EXPO_DATA_DIR"] = str(data)
    from expo import create_app
    from pavilions.programme import stats

    app = create_app()
    stats.Buffer.start = lambda self, app: None  # count into memory only: nothing is written from here
    environ = {"HTTP_USER_AGENT": BROWSER, "HTTP_COOKIE": f"vid={secrets.token_hex(16)}", "REMOTE_ADDR": "127.0.0.1",
               "REQUEST_METHOD": "GET"}
    runs = 50_000
    return timeit.timeit(lambda: stats.count_page(app, environ, "pavilion:bench"), number=runs) / runs * 1e6


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="expo-bench-counting-") as tmp:
        root = Path(tmp)
        demo, _demo_port, slugs = start_demo(root)
        # Two servers started alike, the demo's own left idle: only EXPO_STATS differs between them.
        counted, port = start_web(root / "data", True)
        plain, plain_port = start_web(root / "data", False)
        try:
            path = f"/pavilions/{slugs[0].decode()}"
            _status, before = get(port, "/api/v1/stats")
            best, pairs, sent = {"on": 0.0, "off": 0.0}, [], 0
            for _round in range(args.rounds):
                measured = {}
                order = (("off", plain_port), ("on", port))
                for label, where in order if _round % 2 == 0 else order[::-1]:  # alternate: drift cancels out
                    measured[label], done = rps(where, path, args.seconds, args.connections, browser=True)
                    sent += done if label == "on" else 0
                    best[label] = max(best[label], measured[label])
                pairs.append(measured["on"] / measured["off"])
                print(f"round {_round + 1}: counting off {measured['off']:7.0f} req/s, on {measured['on']:7.0f} req/s,"
                      f" ratio {pairs[-1]:.3f}")
            print(f"best of each: on {best['on']:.0f} req/s, off {best['off']:.0f} req/s; ratio on/off "
                  f"{best['on'] / best['off']:.3f}; median of the rounds' ratios {statistics.median(pairs):.3f} "
                  "(goal ≥ 0.95)")
            print(f"counting costs {cost_per_view(root / 'data'):.1f} µs per page view (in-process)")
            time.sleep(4)  # two flush periods
            _status, after = get(port, "/api/v1/stats")
            views = json.loads(after)["page_views"] - json.loads(before)["page_views"]
            print(f"views counted while counting was on: {views} of {sent} sent "
                  f"({'exact' if views == sent else 'MISMATCH'})")
        finally:
            stop(demo, counted, plain)


if __name__ == "__main__":
    main()
