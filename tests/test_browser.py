"""Browser tests: Debian's Chromium driven by Playwright against the app on a free loopback port."""
import threading

import pytest
from werkzeug.serving import make_server

from expo.store import free_ports
from tests import av_samples
from tests.browsers import ARGS, launch, require_chromium
from tests.test_api_pavilions import create

require_chromium()  # skips this module with a reason outside CI when Chromium is missing


@pytest.fixture(scope="module")
def live(app):
    """Serve the session's app over HTTP in a thread, as a browser needs."""
    port = free_ports(1)[0]
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture(scope="module")
def browser():
    with launch(ARGS) as chromium:
        yield chromium


def _sign_in(page, live, user):
    page.goto(f"{live}/login")
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{live}/")


def test_flaky_upload_resumes_then_the_video_plays_in_the_preview(app, live, browser, api, exhibitor, worker,
                                                                  tmp_path, stack):
    from expo.extensions import db
    from media.models import Media

    pavilion = create(api, exhibitor)
    clip = av_samples.mp4(tmp_path / "booth.mp4", tags=False)
    context = browser.new_context()
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    dropped = {"count": 0}

    def flaky(route):
        # The first two PUTs to the store die mid-flight, as on a train going through a tunnel.
        if route.request.method == "PUT" and dropped["count"] < 2:
            dropped["count"] += 1
            route.abort("connectionreset")
        else:
            route.continue_()

    store = stack.env["EXPO_S3_ENDPOINT"]
    page.route(f"{store}/**", flaky)
    _sign_in(page, live, exhibitor)
    page.goto(f"{live}/studio/pavilions/{pavilion['id']}/upload")
    page.select_option("#upload-kind", "video")
    page.set_input_files("#upload-file", str(clip))
    page.click("#upload-start")
    page.wait_for_function("() => document.getElementById('upload-status').textContent.startsWith('Ready')",
                           timeout=120_000)
    assert dropped["count"] == 2 and not errors
    assert page.eval_on_selector("#upload-bar", "bar => bar.value") == 100

    with app.app_context():
        media_id = db.session.scalars(db.select(Media.id).where(Media.pavilion_id == pavilion["id"])).one()
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "video", "media": media_id}]
    assert api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft).status_code == 200
    page.unroute(f"{store}/**")
    page.goto(f"{live}/studio/pavilions/{pavilion['id']}/preview")
    page.eval_on_selector("video", "video => { video.muted = true; return video.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 0.5", timeout=30_000)
    assert not errors
    context.close()
