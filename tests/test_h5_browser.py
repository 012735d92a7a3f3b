"""Isolation of H5 bundles in a real browser: Debian's Chromium, the site and the sandbox on two loopback ports."""
import threading

import pytest
from werkzeug.serving import make_server

from expo.store import free_ports
from tests.browsers import ARGS, launch, require_chromium
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
  out.color = getComputedStyle(document.querySelector('h1')).color;
  parent.postMessage(out, '*');
});
"""
LISTEN = "if (window === window.top) { window.__h5 = []; addEventListener('message', e => window.__h5.push(e.data)); }"


@pytest.fixture
def origins(app):
    """The site and the sandbox on two loopback ports, each knowing the other's origin."""
    from config import TestConfig
    from expo.sandbox import create_sandbox_app

    site_port, sandbox_port = free_ports(2)
    settings = TestConfig()
    settings.EXPO_SANDBOX_ORIGIN = f"http://127.0.0.1:{sandbox_port}"
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
    assert page.get_attribute("iframe.h5", "src").startswith(f"{sandbox}/b/")
    page.wait_for_function("() => window.__h5 && window.__h5.length > 0", timeout=20_000)
    seen = page.evaluate("() => window.__h5[0]")
    page.wait_for_timeout(300)  # give a top navigation, had it been allowed, time to start
    context.close()

    assert seen["image"] == 40 and seen["color"] == "rgb(1, 2, 3)", seen  # the bundle's own files do load
    assert seen["cookie"].startswith("blocked:") or seen["cookie"] == "read:", seen
    assert "session" not in seen["cookie"]
    assert seen["parent"].startswith("blocked:"), seen
    assert page.url == url, "the bundle navigated the expo page"
    assert seen["fetch"].startswith("failed:") or seen["fetch"] == "got:0:", seen
    assert pavilion["id"] not in seen["fetch"] and "blocks" not in seen["fetch"]
