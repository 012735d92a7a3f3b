"""The visitor's tour in Debian's Chromium: the hall, Chinese search, the language switch, HLS video with its
captions and storyboard, and a 320 px phone."""
import secrets

import pytest

from tests import av_samples
from tests.browsers import ARGS, launch, require_chromium
from tests.conftest import Api, new_user
from tests.test_api_pavilions import _submit, create, put_draft

require_chromium()  # skips this module with a reason outside CI when Chromium is missing
from tests.test_browser import live  # noqa: E402, F401 - the session app on a free port

NAME = "网络安全展馆"
TEXT = "<p>保护个人信息，从我做起。</p>"
SMALL_PHONE = {"width": 320, "height": 640}


@pytest.fixture(scope="module")
def browser():
    with launch(ARGS) as chromium:
        yield chromium


def _ready(api, user, pavilion, path):
    """Upload the file at PATH to PAVILION and wait until the pipeline has made its renditions."""
    answer = api(user).upload(pavilion["id"], path.read_bytes(), filename=path.name)
    assert answer.status_code == 202, answer.get_json()
    media = api(user).wait_media(answer.get_json()["id"], timeout=120)
    assert media["status"] == "ready", media
    return media


@pytest.fixture(scope="module")
def pavilion(app, worker, tmp_path_factory):
    """One published pavilion in Chinese: a text block and a short video with captions (shared by the module)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.7"

    def api(user=None):
        return Api(client, user.token if user else None)

    exhibitor, curator = new_user(app, "exhibitor"), new_user(app, "curator")
    tmp = tmp_path_factory.mktemp("visitor")
    pav = create(api, exhibitor, name=NAME, summary="网络安全知识与互动体验")
    video = _ready(api, exhibitor, pav, av_samples.mp4(tmp / "tour.mp4", seconds=3, tags=False))
    captions = _ready(api, exhibitor, pav, av_samples.srt(tmp / "tour.srt"))
    blocks = [{"kind": "text", "html": TEXT}, {"kind": "video", "media": video["id"], "captions": captions["id"]}]
    assert put_draft(api, exhibitor, pav["id"], blocks=blocks).status_code == 200
    review = _submit(api, exhibitor, pav)
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    return pav


@pytest.fixture
def page(browser):
    """A fresh English page (Chromium's default language) that collects script errors in page.errors."""
    context = browser.new_context(locale="en-US")
    tab = context.new_page()
    tab.errors = []
    tab.on("pageerror", lambda error: tab.errors.append(str(error)))
    yield tab
    context.close()


def _card(page, slug):
    return page.locator(f'li.card[data-pavilion="{slug}"]')


def test_the_hall_lists_the_pavilion(live, page, pavilion):  # noqa: F811
    page.goto(f"{live}/")
    card = _card(page, pavilion["slug"])
    assert card.locator("h2").text_content() == NAME
    assert card.locator("a").first.get_attribute("href") == f"/pavilions/{pavilion['slug']}"
    card.locator("a").first.click()
    page.wait_for_url(f"{live}/pavilions/{pavilion['slug']}")
    assert page.text_content("h1") == NAME
    assert not page.errors, page.errors


@pytest.mark.parametrize("word", ["个人信息", "安全"])  # a trigram phrase, and two characters (no trigram at all)
def test_searching_the_hall_by_a_chinese_word_marks_it(live, page, pavilion, word):  # noqa: F811
    page.goto(f"{live}/")
    page.fill("#q", word)
    page.click("form.search button[type=submit]")
    page.wait_for_url("**/?q=*")
    card = _card(page, pavilion["slug"])
    assert card.count() == 1, f"searching for {word} did not list the pavilion"
    assert word in card.locator(".snippet mark").all_text_contents()
    assert page.input_value("#q") == word
    assert not page.errors, page.errors


def test_the_language_switch_changes_the_page_and_is_remembered(live, page, pavilion):  # noqa: F811
    page.goto(f"{live}/")
    assert page.get_attribute("html", "lang") == "en"
    assert page.text_content("form.search button").strip() == "Search"
    page.click('header nav.langs a[hreflang="zh-CN"]')
    page.wait_for_selector('html[lang="zh-CN"]')
    assert page.text_content("form.search button").strip() == "搜索"
    assert page.text_content("footer").strip() == "云展会——开源的线上展览平台。"
    assert page.get_attribute('nav.langs a[hreflang="zh-CN"]', "aria-current") == "true"
    page.goto(f"{live}/pavilions/{pavilion['slug']}")  # the choice is a cookie: the next page remembers it
    assert page.get_attribute("html", "lang") == "zh-CN"
    assert page.text_content("footer").strip() == "云展会——开源的线上展览平台。"
    page.click('header nav.langs a[hreflang="en"]')
    page.wait_for_selector('html[lang="en"]')
    assert page.url == f"{live}/pavilions/{pavilion['slug']}"  # back to the page the visitor switched on
    assert page.text_content("footer").strip() == "Cloud Expo — an open-source online exhibition platform."
    assert not page.errors, page.errors


# Chromium now plays HLS natively; hiding that makes the page take the vendored hls.js path, as older browsers and
# most WebViews do.
NO_NATIVE_HLS = """{
  const canPlayType = HTMLMediaElement.prototype.canPlayType;
  HTMLMediaElement.prototype.canPlayType = function (type) {
    return /mpegurl/i.test(type) ? "" : canPlayType.call(this, type);
  };
}"""
VIDEO = "[data-block-kind=video] video"
STRIP = "[data-block-kind=video] .seek input[type=range]"


def _open_video(page, live_url, slug, player):
    """Open the pavilion with PLAYER ('native' or 'hls.js'); return the URLs requested before any interaction."""
    if player == "hls.js":
        page.add_init_script(NO_NATIVE_HLS)
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(f"{live_url}/pavilions/{slug}")
    page.wait_for_load_state("load")
    page.wait_for_timeout(300)  # time for anything a player would fetch on its own
    assert page.evaluate("() => !!document.querySelector('video').hlsPlayer") == (player == "hls.js")
    return list(requested)


@pytest.mark.parametrize("player", ["native", "hls.js"])
def test_the_video_plays_through_hls_with_captions_and_a_storyboard(live, page, pavilion, player):  # noqa: F811
    before = _open_video(page, live, pavilion["slug"], player)
    assert page.get_attribute(VIDEO, "preload") == "none"
    assert page.get_attribute(VIDEO, "data-hls").endswith("master.m3u8")
    assert not [url for url in before if ".m3u8" in url or "storyboard" in url], \
        f"the video loaded before the visitor asked for it: {before}"
    assert page.locator(f"{VIDEO} track[kind=captions]").count() == 1
    page.wait_for_function("""() => [...document.querySelector('video').textTracks]
        .some(t => t.kind === 'captions' && t.cues && t.cues.length > 0)""")

    # Hovering the seek strip loads the storyboard and shows the frame under the pointer.
    strip = page.locator(STRIP)
    assert strip.get_attribute("aria-label") == "Seek"
    strip.hover()
    thumb = page.locator("[data-block-kind=video] .seek-thumb")
    thumb.wait_for(state="visible")
    assert "storyboard.jpg" in thumb.evaluate("t => getComputedStyle(t).backgroundImage")
    assert thumb.bounding_box()["width"] == 160
    assert page.text_content("[data-block-kind=video] .seek-time") in ("0:01", "0:02")  # the middle of 3 s
    page.mouse.move(0, 0)
    page.locator("[data-block-kind=video] .seek-preview").wait_for(state="hidden")

    page.eval_on_selector(VIDEO, "v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 1", timeout=30_000)
    page.eval_on_selector(VIDEO, "v => v.pause()")
    assert float(strip.input_value()) >= 1  # kept in step with currentTime

    # By keyboard: focus shows the thumbnail at the value; the arrow keys seek and move it; Escape hides it.
    strip.focus()
    page.keyboard.press("Home")
    page.wait_for_function("() => document.querySelector('video').currentTime < 0.5")
    assert page.text_content("[data-block-kind=video] .seek-time") == "0:00"
    page.keyboard.press("ArrowRight")
    page.wait_for_function("() => Math.abs(document.querySelector('video').currentTime - 1) < 0.2")
    assert page.text_content("[data-block-kind=video] .seek-time") == "0:01"
    assert strip.get_attribute("aria-valuetext").startswith("0:01 / 0:0")
    assert thumb.is_visible()
    page.keyboard.press("Escape")
    assert not thumb.is_visible()
    assert not page.errors, page.errors


@pytest.mark.parametrize("player", ["native", "hls.js"])
def test_a_click_on_the_strip_before_playing_seeks_there(live, page, pavilion, player):  # noqa: F811
    _open_video(page, live, pavilion["slug"], player)
    strip = page.locator(STRIP)
    box = strip.bounding_box()
    # The first click: the strip learns the video's length from the storyboard, then seeks where it landed.
    strip.click(position={"x": box["width"] * 0.7, "y": box["height"] / 2})
    page.wait_for_function("() => { const v = document.querySelector('video'); "
                           "return v.readyState >= 1 && v.currentTime > 1.5; }", timeout=30_000)
    page.eval_on_selector(VIDEO, "v => { v.muted = true; return v.play(); }")
    page.wait_for_function("() => document.querySelector('video').currentTime > 2.5", timeout=30_000)
    assert not page.errors, page.errors


def test_a_320_px_phone_never_scrolls_sideways_and_header_targets_are_44_px(live, browser, pavilion):  # noqa: F811
    context = browser.new_context(viewport=SMALL_PHONE, device_scale_factor=1, locale="en-US")
    page = context.new_page()
    for path in ("/", "/?q=安全", f"/pavilions/{pavilion['slug']}"):
        page.goto(f"{live}{path}")
        assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth"), \
            f"{path} scrolls sideways on a 320 px screen"
        small = page.evaluate("""() => [...document.querySelectorAll('header.top a, header.top button')]
            .map(e => [e.textContent.trim(), e.getBoundingClientRect().height]).filter(([, h]) => h < 44)""")
        assert small == [], f"tap targets under 44 px in the header of {path}: {small}"
    # The storyboard preview stays on the screen at the strip's right end.
    strip = page.locator(".seek input[type=range]")
    box = strip.bounding_box()
    strip.hover(position={"x": box["width"] - 2, "y": box["height"] / 2})
    page.locator(".seek-thumb").wait_for(state="visible")
    shown = page.locator(".seek-preview").bounding_box()
    assert shown["x"] >= 0 and shown["x"] + shown["width"] <= SMALL_PHONE["width"]
    assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
    context.close()
