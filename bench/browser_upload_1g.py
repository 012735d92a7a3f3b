"""The pipeline issue's "done when", run by hand: a ~1 GB video uploaded through the upload page in Chromium
while 15 % of the part PUTs are dropped, processed, then played in the draft preview. Not a test (slow).

Run: python bench/browser_upload_1g.py (needs Debian's chromium at /usr/bin/chromium and ~3 GB free in /tmp).
"""
import json
import os
import random
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from expo.store import free_ports  # noqa: E402
from media.transcode import run as ffmpeg  # noqa: E402

PASSWORD = "big-password-1"  # noqa: S105 - a throw-away account on a throw-away data dir
CHROMIUM = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


def make_video(path):
    """Write lossless noisy 1080p: about 74 MB a second, so 14 s make about 1 GB."""
    ffmpeg(["-f", "lavfi", "-i", "testsrc2=size=1920x1080:rate=25:duration=14", "-f", "lavfi", "-i",
            "sine=frequency=440:duration=14", "-vf", "noise=alls=25:allf=t", "-c:v", "libx264", "-preset",
            "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-y", str(path)], 600)


class Expo:
    """`python -m expo serve` on free ports with its own data dir, plus an exhibitor and a token."""

    def __init__(self, data):
        self.port, self.s3, sandbox = free_ports(3)
        self.data = data
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("EXPO_")} | {"EXPO_DATA_DIR": str(data)}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "expo", "serve", "--data", str(data), "--port", str(self.port), "--s3-port",
             str(self.s3), "--sandbox-port", str(sandbox)], cwd=ROOT, env=self.env, stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL, text=True)
        while not self.process.stdout.readline().startswith("Expo:"):
            pass
        self.site = f"http://127.0.0.1:{self.port}"
        self._flask("user", "create", "big@test.expo", "--role", "exhibitor", stdin=PASSWORD + "\n")
        self.token = self._flask("token", "create", "big@test.expo").strip().splitlines()[-1]

    def _flask(self, *args, stdin=None):
        return subprocess.run([sys.executable, "-m", "flask", "--app", "expo", *args], input=stdin, text=True,
                              env=self.env, cwd=ROOT, check=True, capture_output=True).stdout

    def api(self, method, path, body=None):
        request = urllib.request.Request(
            self.site + path, method=method, data=json.dumps(body).encode() if body is not None else None,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"})
        with urllib.request.urlopen(request) as answer:  # noqa: S310 - our own loopback server
            return json.loads(answer.read())

    def stop(self):
        self.process.terminate()
        self.process.wait()


def upload(page, expo, pavilion, video):
    """Upload VIDEO on the upload page with 15 % of part PUTs dropped; return (seconds, dropped, puts)."""
    rng, counts = random.Random(7), {"dropped": 0, "puts": 0}

    def flaky(route):
        if route.request.method == "PUT":
            counts["puts"] += 1
            if rng.random() < 0.15:
                counts["dropped"] += 1
                route.abort("connectionreset")
                return
        route.continue_()

    page.route(f"http://127.0.0.1:{expo.s3}/**", flaky)
    page.goto(expo.site + "/login")
    page.fill("#email", "big@test.expo")
    page.fill("#password", PASSWORD)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(expo.site + "/")
    page.goto(f"{expo.site}/studio/pavilions/{pavilion}/upload")
    page.select_option("#upload-kind", "video")
    page.set_input_files("#upload-file", str(video))
    started = time.monotonic()
    page.click("#upload-start")
    page.wait_for_function(
        "() => /processing|Waiting|Ready/.test(document.getElementById('upload-status').textContent)",
        timeout=900_000)
    page.unroute(f"http://127.0.0.1:{expo.s3}/**")
    return time.monotonic() - started, counts["dropped"], counts["puts"]


def main():
    work = Path(tempfile.mkdtemp(prefix="expo-1g-"))
    video = work / "big.mp4"
    make_video(video)
    expo = Expo(work / "data")
    try:
        pavilion = expo.api("POST", "/api/v1/pavilions", {"name": "Big booth"})["id"]
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM)
            page = browser.new_page()
            seconds, dropped, puts = upload(page, expo, pavilion, video)
            megabytes = video.stat().st_size / 1e6
            print(f"uploaded {megabytes:.0f} MB in {seconds:.1f} s ({megabytes / seconds:.0f} MB/s); {dropped} of "
                  f"{puts} part PUTs dropped and retried")
            started = time.monotonic()
            page.wait_for_function("() => /^(Ready|Processing failed)/.test("
                                   "document.getElementById('upload-status').textContent)", timeout=900_000)
            with sqlite3.connect(work / "data" / "expo.sqlite") as db:
                media_id = db.execute("select id from media").fetchone()[0]
            info = expo.api("GET", f"/api/v1/media/{media_id}")
            print(f"processed to {info['status']} in {time.monotonic() - started:.1f} s; rungs "
                  f"{info['meta'].get('rungs')}")
            draft = expo.api("GET", f"/api/v1/pavilions/{pavilion}/draft")
            draft["blocks"] = [{"kind": "video", "media": media_id}]
            expo.api("PUT", f"/api/v1/pavilions/{pavilion}/draft", draft)
            page.goto(f"{expo.site}/studio/pavilions/{pavilion}/preview")
            page.eval_on_selector("video", "v => { v.muted = true; return v.play(); }")
            page.wait_for_function("() => document.querySelector('video').currentTime > 2", timeout=60_000)
            print("preview plays: currentTime", page.eval_on_selector("video", "v => v.currentTime"),
                  "videoHeight", page.eval_on_selector("video", "v => v.videoHeight"))
            browser.close()
    finally:
        expo.stop()
        subprocess.run(["rm", "-rf", str(work)], check=False)


if __name__ == "__main__":
    main()
