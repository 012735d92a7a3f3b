"""Isolation of H5 bundles in a real browser: Debian's Chromium, the site and the sandbox on two loopback ports."""
import threading

import pytest
from werkzeug.serving import make_server

from expo.store import free_ports
from tests.browsers import ARGS, launch, require_chromium
from tests.conftest import login
from tests.test_api_pavilions import create, put_draft
from tests.test_h5 import promo, upload_ready

require_chromium()  # skips this module with a reason outside CI when Chromium is missing

# What a hostile bundle tries once loaded; it reports every outcome to the page that frames it.
ATTACK = """
window.addEventListener('load', async () => {
  const out = {};
  try { out.cookie = 'read:' + document.cookie; } catch (e) { out.cookie = 'blocked:' + e.name; }
  try { out.parent = 'read:' + parent.document.title; } catch (e) { out.parent = 'blocked:' + e.name; }
  try { top.location.href = '%(site)s/hijacked'; out.top = 'assigned'; } catch (e) { out.top = 'blocked:' + e.name; }
  try {
    const answer = await fetch('%(site)s/api/v1/pavilions/%(pavilion)s/draft', {credentials: 'include'});
    out.fetch = 'got:' + answer.status + ':' + (await answer.text()).slice(0, 200);
  } catch (e) { out.fetch = 'failed:' + e.name; }
  out.image = document.querySelector('img').naturalWidth;
  out.origin = self.origin;  // "null" when the frame is opaque
  try { localStorage.setItem('k', 'v'); out.storage = localStorage.getItem('k'); }
  catch (e) { out.storage = 'blocked:' + e.name; }
  out.color = getComputedStyle(document.querySelector('h1')).color;
  parent.postMessage(out, '*');
});
"""
LISTEN = "if (window === window.top) { window.__h5 = []; addEventListener('message', e => window.__h5.push(e.data)); }"


@pytest.fixture(params=["shared", "per-bundle"])
def origins(app, request):
    """The site and the sandbox on two loopback ports, each knowing the other's origin; the sandbox either one
    origin for all bundles or one per bundle (`*.localhost`, which Chromium resolves to the loopback)."""
    from config import TestConfig
    from expo.sandbox import create_sandbox_app

    site_port, sandbox_port = free_ports(2)
    settings = TestConfig()
    host = "*.localhost" if request.param == "per-bundle" else "127.0.0.1"
    settings.EXPO_SANDBOX_ORIGIN = f"http://{host}:{sandbox_port}"
    settings.EXPO_SITE_ORIGINS = [f"http://127.0.0.1:{site_port}"]
    saved = app.config["EXPO_SANDBOX_ORIGIN"]
    app.config["EXPO_SANDBOX_ORIGIN"] = settings.EXPO_SANDBOX_ORIGIN
    running = []
    sandbox = create_sandbox_app(settings)
    for application, port in ((app, site_port), (sandbox, sandbox_port)):
        server = make_server("127.0.0.1", port, application, threaded=True)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        running.append((server, thread))
    yield settings.EXPO_SITE_ORIGINS[0], settings.EXPO_SANDBOX_ORIGIN
    for server, thread in running:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    app.config["EXPO_SANDBOX_ORIGIN"] = saved
    from expo.extensions import db

    with sandbox.app_context():
        db.engine.dispose()


@pytest.fixture(scope="module")
def browser():
    with launch(ARGS) as chromium:
        yield chromium


def test_bundle_script_cannot_reach_the_expo(origins, browser, api, exhibitor, curator, worker):
    site, sandbox = origins
    pavilion = create(api, exhibitor)
    script = (ATTACK % {"site": site, "pavilion": pavilion["id"]}).encode()
    media = upload_ready(api, exhibitor, pavilion["id"], promo(script=script))
    assert media["status"] == "ready", media
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "h5", "media": media["id"]}]).status_code == 200
    review = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200

    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(LISTEN)
    page.goto(f"{site}/login")
    page.fill("#email", exhibitor.email)
    page.fill("#password", exhibitor.password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{site}/")
    assert any(c["name"] == "session" for c in context.cookies(site)), "the visitor is signed in on the site"

    url = f"{site}/pavilions/{pavilion['slug']}"
    page.goto(url)
    frame_src = page.get_attribute("iframe.h5", "src")
    per_bundle = "*" in sandbox
    if per_bundle:  # the bundle's own origin, kept inside the frame
        own = sandbox.replace("*", frame_src.split("//")[1].split(".")[0])
        assert frame_src.startswith(f"{own}/b/") and own.startswith("http://h5-")
        assert "allow-same-origin" in page.get_attribute("iframe.h5", "sandbox")
    else:
        assert frame_src.startswith(f"{sandbox}/b/")
        assert "allow-same-origin" not in page.get_attribute("iframe.h5", "sandbox")
    page.wait_for_function("() => window.__h5 && window.__h5.length > 0", timeout=20_000)
    seen = page.evaluate("() => window.__h5[0]")
    page.wait_for_timeout(300)  # give a top navigation, had it been allowed, time to start
    context.close()

    assert seen["image"] == 40 and seen["color"] == "rgb(1, 2, 3)", seen  # the bundle's own files do load
    if per_bundle:
        # Its own origin, not an opaque one (storage then depends on the browser's third-party storage policy).
        assert seen["origin"] == own, seen
    else:
        assert seen["origin"] == "null" and seen["storage"].startswith("blocked:"), seen
    assert seen["cookie"].startswith("blocked:") or seen["cookie"] == "read:", seen
    assert "session" not in seen["cookie"]
    assert seen["parent"].startswith("blocked:"), seen
    assert page.url == url, "the bundle navigated the expo page"
    assert seen["fetch"].startswith("failed:") or seen["fetch"] == "got:0:", seen
    assert pavilion["id"] not in seen["fetch"] and "blocks" not in seen["fetch"]


# A page that paints itself red in CSS and green from script, and meanwhile tries to reach a listener on the
# worker's own loopback (IP literal, host name, image, WebSocket, beacon) and the outside world.
POSTER_PAGE = """<!doctype html><html><head><style>
html, body { margin: 0; height: 100%%; background: rgb(220, 30, 30); }</style></head><body><h1>Promo</h1><script>
document.body.style.background = 'rgb(20, 160, 60)';
const here = '127.0.0.1:%(port)d';
for (const url of ['http://' + here + '/fetch', 'http://localhost:%(port)d/name', 'https://example.com/']) {
  fetch(url, {mode: 'no-cors'}).catch(() => {});
}
new Image().src = 'http://' + here + '/image';
try { new WebSocket('ws://' + here + '/socket'); } catch (e) {}
navigator.sendBeacon('http://' + here + '/beacon', 'x');
</script></body></html>"""


class Listener:
    """A loopback TCP listener that records every connection made to it."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.port, self.seen, self.running = self.sock.getsockname()[1], [], True
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        while self.running:
            try:
                conn, _peer = self.sock.accept()
            except OSError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.seen.append(conn.recv(200))
                except OSError:
                    self.seen.append(b"")

    def close(self):
        self.running = False
        self.thread.join(timeout=5)
        self.sock.close()


def test_poster_is_an_offline_screenshot_of_the_bundle(app, api, client, exhibitor, worker):
    import io
    import zipfile

    from PIL import Image

    from media.storage import get_storage

    listener = Listener()
    try:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            archive.writestr("index.html", POSTER_PAGE % {"port": listener.port})
        pavilion = create(api, exhibitor)
        media = upload_ready(api, exhibitor, pavilion["id"], buffer.getvalue())
    finally:
        listener.close()
    assert media["status"] == "ready", media
    assert listener.seen == [], "the bundle reached the worker's loopback while its poster was taken"
    assert {"index", "poster", "poster_webp"} <= set(media["renditions"])
    sandbox = app.config["EXPO_SANDBOX_ORIGIN"]
    assert media["renditions"]["poster"].startswith(f"{sandbox}/b/{media['id']}/")
    assert media["meta"]["poster_placeholder"].startswith("data:image/webp;base64,")

    with app.app_context():
        from expo.extensions import db
        from media.models import Media

        stored = db.session.get(Media, media["id"])
        key = stored.renditions["poster"]["key"]
        assert stored.renditions["poster"]["type"] == "image/jpeg" and key.endswith("/_expo/poster.jpg")
        body = get_storage().read(key)
    with Image.open(io.BytesIO(body)) as poster:
        assert poster.format == "JPEG" and poster.size == (750, 1520)  # 375×760 CSS px at 2× density
        assert not poster.info.get("exif")
        red, green, blue = poster.convert("RGB").getpixel((375, 1200))
    assert green > 120 and red < 80, (red, green, blue)  # the script ran: the poster shows what visitors see

    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "h5", "media": media["id"]}]).status_code == 200
    login(client, exhibitor)
    preview = client.get(f"/studio/pavilions/{pavilion['id']}/preview").get_data(as_text=True)
    assert media["renditions"]["poster"].split("/_expo/")[0] in preview and "_expo/poster.jpg" in preview


def test_a_page_that_never_settles_gets_no_poster_and_no_lingering_browser(tmp_path):
    import subprocess
    import time

    from media import screenshot

    page = tmp_path / "f0000"
    page.write_text("<!doctype html><body><script>for (;;) {}</script></body>")
    started = time.monotonic()
    taken = screenshot.capture("/usr/bin/chromium", [("index.html", str(page), "text/html")], tmp_path / "shot.png",
                               time_limit_s=6)
    assert taken is False and not (tmp_path / "shot.png").exists()
    assert time.monotonic() - started < 15
    time.sleep(0.5)
    left = subprocess.run(["pgrep", "-f", str(tmp_path / "shot.json")], capture_output=True, text=True).stdout
    assert left == "", "the capture's process outlived its time limit"
