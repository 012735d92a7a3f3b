"""The visitor's pages in Debian's Chromium: a phone-sized screen, the image gallery by keyboard, accessibility."""
import pytest

from tests import samples
from tests.browsers import ARGS, launch, require_chromium
from tests.test_api_pavilions import _submit, create, put_draft

require_chromium()  # skips this module with a reason outside CI when Chromium is missing
from tests.test_browser import live  # noqa: E402, F401 - the session app on a free port

AXE = __import__("pathlib").Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    with launch(ARGS) as chromium:
        yield chromium


@pytest.fixture
def gallery(api, exhibitor, curator, worker):
    """A published pavilion with a text block and a two-image gallery."""
    pavilion = create(api, exhibitor, name="Gallery booth", summary="Photos of our stand")
    ids = []
    for colour in ((200, 60, 40), (40, 90, 200)):
        answer = api(exhibitor).upload(pavilion["id"], samples.jpeg(1600, 900, color=colour))
        media = api(exhibitor).wait_media(answer.get_json()["id"])
        assert media["status"] == "ready", media
        ids.append(media["id"])
    blocks = [{"kind": "text", "html": "<p>Welcome to the stand of the <b>network police</b>.</p>"},
              {"kind": "image", "media": ids, "alt": "The stand seen from the entrance", "caption": "Our stand"}]
    assert put_draft(api, exhibitor, pavilion["id"], blocks=blocks).status_code == 200
    review = _submit(api, exhibitor, pavilion)
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    return pavilion


def _no_horizontal_scroll(page):
    return page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")


def test_a_phone_tours_the_gallery_by_keyboard(live, browser, gallery):  # noqa: F811
    context = browser.new_context(viewport=PHONE, device_scale_factor=1)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live}/")
    assert _no_horizontal_scroll(page), "the hall scrolls sideways on a 390 px screen"
    page.goto(f"{live}/pavilions/{gallery['slug']}")
    assert _no_horizontal_scroll(page), "the pavilion page scrolls sideways on a 390 px screen"
    first = page.locator("a.zoom").first
    first.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('a.zoom img').currentSrc !== ''")
    chosen = page.evaluate("() => document.querySelector('a.zoom img').currentSrc")
    assert "/w" in chosen and chosen.endswith((".avif", ".webp")), chosen  # a rendition picked from the srcset

    first.focus()
    page.keyboard.press("Enter")
    page.wait_for_selector("dialog.lightbox[open]")
    assert page.text_content(".lightbox-count") == "1 / 2"
    assert page.evaluate("() => document.activeElement.className") == "lightbox-close"
    page.keyboard.press("ArrowRight")
    assert page.text_content(".lightbox-count") == "2 / 2"
    assert page.get_attribute("dialog.lightbox img", "alt") == "The stand seen from the entrance"
    page.keyboard.press("ArrowRight")
    assert page.text_content(".lightbox-count") == "1 / 2"
    page.keyboard.press("Escape")
    page.wait_for_selector("dialog.lightbox:not([open])", state="attached")
    assert page.evaluate("() => document.activeElement === document.querySelector('a.zoom')")
    assert _no_horizontal_scroll(page)
    assert not errors, errors
    context.close()


def _axe(browser, url, sign_in=None, live_url=None):
    """Run axe-core on URL; return the serious and critical violations."""
    context = browser.new_context(bypass_csp=True)  # axe is injected as a script the site's CSP would refuse
    page = context.new_page()
    if sign_in:
        page.goto(f"{live_url}/login")
        page.fill("#email", sign_in.email)
        page.fill("#password", sign_in.password)
        page.click("form.stack button[type=submit]")
        page.wait_for_url(f"{live_url}/")
    page.goto(url)
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => (await axe.run(document, {resultTypes: ['violations']})).violations")
    context.close()
    return [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result
            if v["impact"] in ("serious", "critical")]


def test_axe_finds_no_serious_violation(live, browser, api, gallery, exhibitor, curator):  # noqa: F811
    assert _axe(browser, f"{live}/") == []
    assert _axe(browser, f"{live}/pavilions/{gallery['slug']}") == []
    assert _axe(browser, f"{live}/studio/pavilions/{gallery['id']}", exhibitor, live) == []
    pending = create(api, exhibitor, name="Pending booth")
    assert put_draft(api, exhibitor, pending["id"], blocks=[{"kind": "text", "html": "<p>new</p>"}]).status_code \
        == 200
    review = _submit(api, exhibitor, pending)
    assert _axe(browser, f"{live}/review/{review}", curator, live) == []
    assert _axe(browser, f"{live}/review", curator, live) == []


def _signed_in(browser, live_url, user, **options):
    context = browser.new_context(**options)
    page = context.new_page()
    page.goto(f"{live_url}/login")
    page.fill("#email", user.email)
    page.fill("#password", user.password)
    page.click("form.stack button[type=submit]")
    page.wait_for_url(f"{live_url}/")
    return context, page


def test_the_editor_reorders_by_keyboard_and_drag_and_previews_unsaved_edits(live, browser, api, exhibitor):  # noqa: F811
    pavilion = create(api, exhibitor, name="Editor booth")
    blocks = [{"kind": "text", "html": f"<p>block {name}</p>"} for name in ("one", "two", "three")]
    assert put_draft(api, exhibitor, pavilion["id"], blocks=blocks).status_code == 200
    # Tall enough for the three blocks at once: the drag below starts on the first and ends on the last.
    context, page = _signed_in(browser, live, exhibitor, viewport={"width": 1280, "height": 2200})
    page.goto(f"{live}/studio/pavilions/{pavilion['id']}")
    frame = page.frame(name="preview")
    frame.wait_for_selector("text=block one")

    def order():
        return [page.input_value(f"textarea[name='blocks-{i}-html']") for i in range(3)]

    # Keyboard: ↑ on the third block moves it up in place; focus stays on the button; the move is announced.
    up = page.locator("li.block-edit").nth(2).locator("button[value^='up-']")
    up.focus()
    page.keyboard.press("Enter")
    assert order() == ["<p>block one</p>", "<p>block three</p>", "<p>block two</p>"]
    assert page.evaluate("() => document.activeElement.value") == "up-1"
    assert page.text_content("#editor-status").strip() == "Block moved to position 2."
    # Drag: the first block by its handle below the last.
    target = page.locator("li.block-edit").nth(2)
    page.locator("li.block-edit").nth(0).locator(".drag-handle").drag_to(
        target, target_position={"x": 20, "y": target.bounding_box()["height"] - 10})
    assert order() == ["<p>block three</p>", "<p>block two</p>", "<p>block one</p>"]
    # The preview follows the unsaved form, in the new order.
    page.fill("textarea[name='blocks-0-html']", "<p>block three, edited</p>")
    frame = page.frame(name="preview")
    page.wait_for_function("""() => {
        const doc = document.querySelector('iframe[name=preview]').contentDocument;
        const texts = [...doc.querySelectorAll('[data-block-kind=text]')].map(e => e.textContent.trim());
        return texts.join('|') === 'block three, edited|block two|block one';
    }""", timeout=15_000)
    page.click(".preview-sizes button[data-width=desktop]")
    assert page.get_attribute(".preview-sizes button[data-width=desktop]", "aria-pressed") == "true"
    # Leaving with unsaved changes asks first.
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.evaluate("() => window.location.href = '/'")
    page.wait_for_timeout(500)
    assert dialogs == ["beforeunload"] and "/studio/" in page.url
    # Saving keeps the order and clears the warning.
    page.click("button[value=save]")
    page.wait_for_selector("text=Draft saved.")
    saved = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()["blocks"]
    assert [b["html"] for b in saved] == ["<p>block three, edited</p>", "<p>block two</p>", "<p>block one</p>"]
    page.goto(f"{live}/")
    assert page.url == f"{live}/"
    context.close()


def test_a_curator_decides_by_keyboard(app, live, browser, api, exhibitor, curator):  # noqa: F811
    pavilion = create(api, exhibitor, name="Keyboard review booth")
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[{"kind": "text", "html": "<p>x</p>"}]).status_code == 200
    review = _submit(api, exhibitor, pavilion)
    context, page = _signed_in(browser, live, curator)
    page.goto(f"{live}/review/{review}")
    page.keyboard.press("r")
    assert page.evaluate("() => document.activeElement.id") == "reason"
    page.keyboard.type("Please add a caption to the video.")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("text=Decision recorded.")
    with app.app_context():
        from expo.extensions import db
        from pavilions.models import Revision

        decided = db.session.get(Revision, review)
        assert decided.state.value == "rejected"
        assert decided.decisions[-1].reason == "Please add a caption to the video."
    context.close()
