"""Poster screenshots of H5 bundles, taken offline in a throwaway headless Chromium.

The bundle is untrusted code, so the capture runs in its own process group with a hard time limit, and the page
can reach nothing but its own files: every request is answered from the extracted bundle or aborted, host names
do not resolve, the proxy is a closed port (so IP literals, loopback included, go nowhere either), WebRTC may not
leave the proxy, and service workers are blocked. Chromium keeps its own sandbox unless the worker runs as root,
where Chromium refuses to start with it.
"""
import contextlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)
ORIGIN = "http://bundle.expo.invalid"
VIEWPORT = {"width": 375, "height": 760}
SETTLE_MS = 1200
TIME_LIMIT_S = 40


def find_chromium(setting):
    """Return the Chromium to use for SETTING (a path, '' for auto-detection, 'off'), or None."""
    if setting == "off":
        return None
    if setting:
        return setting if os.access(setting, os.X_OK) else None
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    return None


def capture(chromium, files, out_path, time_limit_s=TIME_LIMIT_S):
    """Screenshot the bundle FILES ([(relative name, local path, content type)]) into OUT_PATH (PNG).

    Returns True on success; False (logged) when the page could not be captured in time: a missing poster
    never fails the bundle."""
    manifest = Path(out_path).with_suffix(".json")
    manifest.write_text(json.dumps({"chromium": chromium, "files": [list(f[:3]) for f in files],
                                    "out": str(out_path)}))
    process = subprocess.Popen([sys.executable, "-m", "media.screenshot", str(manifest)], start_new_session=True,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _out, err = process.communicate(timeout=time_limit_s)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        log.warning("H5 poster: the page did not settle within %s s; no screenshot", time_limit_s)
        return False
    finally:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)  # Chromium's helpers, if any outlived the browser
    if process.returncode != 0 or not Path(out_path).exists():
        log.warning("H5 poster: capture failed (%s): %s", process.returncode, err.decode(errors="replace")[-500:])
        return False
    return True


def _args():
    args = ["--disable-gpu", "--disable-background-networking", "--disable-extensions", "--mute-audio",
            "--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=<-loopback>", "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
            "--disable-features=WebRtcHideLocalIpsWithMdns"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        args.append("--no-sandbox")  # Chromium will not start its sandbox as root
    return args


def _main(manifest_path):
    from playwright.sync_api import TimeoutError as PageTimeout
    from playwright.sync_api import sync_playwright

    manifest = json.loads(Path(manifest_path).read_text())
    served = {f"{ORIGIN}/{name}": (path, ctype) for name, path, ctype in manifest["files"]}

    def answer(route):
        url = route.request.url.split("#", 1)[0].split("?", 1)[0]
        if url in served:
            path, ctype = served[url]
            route.fulfill(path=path, content_type=ctype, headers={"X-Content-Type-Options": "nosniff"})
        else:
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=manifest["chromium"], args=_args())
        context = browser.new_context(viewport=VIEWPORT, device_scale_factor=2, service_workers="block",
                                      accept_downloads=False, java_script_enabled=True)
        context.route("**/*", answer)
        page = context.new_page()
        page.on("dialog", lambda dialog: dialog.dismiss())
        page.set_default_timeout(15_000)
        try:
            page.goto(f"{ORIGIN}/index.html", wait_until="load")
        except PageTimeout:  # a page whose load never ends is still worth a picture of what it drew
            log.info("H5 poster: the page's load event did not come; capturing what it drew")
        page.wait_for_timeout(SETTLE_MS)
        page.screenshot(path=manifest["out"], type="png", animations="disabled")
        browser.close()


if __name__ == "__main__":
    _main(sys.argv[1])
