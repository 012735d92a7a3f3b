"""The panorama viewer in Debian's Chromium: it draws, the arrow keys turn it, the text alternative is there."""
import io

import pytest
from PIL import Image, ImageDraw

from tests.browsers import ARGS as BASE_ARGS
from tests.browsers import launch, require_chromium
from tests.test_api_pavilions import _submit, create, put_draft

require_chromium()  # skips this module with a reason outside CI when Chromium is missing
from tests.test_browser import live  # noqa: E402, F401 - the session app on a free port

# SwiftShader gives headless Chromium a software WebGL, so the tile path is the one under test.
ARGS = [*BASE_ARGS, "--use-gl=angle", "--use-angle=swiftshader", "--enable-unsafe-swiftshader"]


@pytest.fixture(scope="module")
def browser():
    with launch(ARGS) as chromium:
        yield chromium


def _equirectangular(width):
    """A colourful 2:1 scene: eight coloured sectors and a grid, so any view has something to draw."""
    image = Image.new("RGB", (width, width // 2))
    draw = ImageDraw.Draw(image)
    colours = [(200, 40, 40), (40, 160, 40), (40, 40, 200), (220, 200, 40), (200, 40, 200), (40, 200, 200),
               (120, 120, 120), (240, 140, 20)]
    for sector, colour in enumerate(colours):
        draw.rectangle((sector * width // 8, 0, (sector + 1) * width // 8, width // 2), fill=colour)
    for x in range(0, width, width // 32):
        draw.line((x, 0, x, width // 2), fill=(255, 255, 255), width=3)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def _published_panorama(api, exhibitor, curator):
    pavilion = create(api, exhibitor, name="Panorama booth")
    answer = api(exhibitor).upload(pavilion["id"], _equirectangular(4608), kind="panorama")
    media = api(exhibitor).wait_media(answer.get_json()["id"], timeout=120)
    assert media["status"] == "ready", media
    block = {"kind": "panorama", "media": media["id"], "caption": "Our booth in 360°",
             "hotspots": [{"pitch": 0, "yaw": 30, "text": "<b>Reception</b> desk"}]}
    assert put_draft(api, exhibitor, pavilion["id"], blocks=[block]).status_code == 200
    review = _submit(api, exhibitor, pavilion)
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    return pavilion


def test_the_viewer_draws_turns_with_the_keyboard_and_lists_hotspots(live, browser, api, exhibitor, curator,  # noqa: F811
                                                                     worker):
    pavilion = _published_panorama(api, exhibitor, curator)
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("response", lambda answer: answer.status >= 400 and not answer.url.endswith("/favicon.ico")
            and errors.append(f"{answer.status} {answer.url}"))
    page.on("console", lambda message: message.type == "error" and "Failed to load resource" not in message.text
            and errors.append(message.text))
    page.goto(f"{live}/pavilions/{pavilion['slug']}")
    page.wait_for_function("() => { const el = document.querySelector('.panorama');"
                           " return el && el.expoViewer && el.expoViewer.isLoaded(); }", timeout=30_000)
    kind = page.evaluate("() => document.querySelector('.panorama').expoViewer.getConfig().type")
    assert kind == "multires"  # WebGL (SwiftShader) is there, so the tiles are used
    # Pannellum draws with WebGL; a copy into a 2D canvas tells whether it drew a coloured scene.
    colours = page.evaluate("""() => {
        const viewer = document.querySelector('.panorama').expoViewer;
        const gl = viewer.getRenderer().getCanvas();
        const copy = document.createElement('canvas');
        copy.width = gl.width; copy.height = gl.height;
        viewer.getRenderer().render(viewer.getPitch() * Math.PI / 180, viewer.getYaw() * Math.PI / 180,
                                    viewer.getHfov() * Math.PI / 180);
        const ctx = copy.getContext('2d');
        ctx.drawImage(gl, 0, 0);
        const data = ctx.getImageData(0, 0, copy.width, copy.height).data;
        const seen = new Set();
        for (let i = 0; i < data.length; i += 4 * 997) {
            seen.add((data[i] >> 5) + ',' + (data[i + 1] >> 5) + ',' + (data[i + 2] >> 5));
        }
        return seen.size;
    }""")
    assert colours >= 3, "the viewer's canvas is blank"
    assert page.locator(".panorama .pnlm-hotspot-base").count() == 1

    before = page.evaluate("() => document.querySelector('.panorama').expoViewer.getYaw()")
    page.focus(".panorama")
    page.keyboard.down("ArrowRight")
    page.wait_for_timeout(600)
    page.keyboard.up("ArrowRight")
    after = page.evaluate("() => document.querySelector('.panorama').expoViewer.getYaw()")
    assert after > before + 2, (before, after)

    alternative = page.locator("[data-block-kind=panorama] ul.hotspots li").all_text_contents()
    assert alternative == ["<b>Reception</b> desk"]
    assert page.locator("[data-block-kind=panorama] .caption").text_content() == "Our booth in 360°"
    tooltip = page.locator(".panorama .pnlm-tooltip span").first
    assert tooltip.inner_html() == "&lt;b&gt;Reception&lt;/b&gt; desk"  # escapeHTML: text, never markup
    # The cube tiles must show what the base image shows, looking anywhere (faces in the right place and turn).
    differences = page.evaluate("""async () => {
        const tiles = document.querySelector('.panorama').expoViewer;
        const box = document.createElement('div');
        box.className = 'panorama';
        document.querySelector('.panorama').after(box);
        const base = pannellum.viewer(box, {type: 'equirectangular', autoLoad: true, hfov: 100, escapeHTML: true,
            panorama: document.querySelector('.panorama').getAttribute('data-base')});
        await new Promise(done => base.on('load', done));
        const centre = (viewer) => {
            const gl = viewer.getRenderer().getCanvas();
            viewer.getRenderer().render(viewer.getPitch() * Math.PI / 180, viewer.getYaw() * Math.PI / 180,
                                        viewer.getHfov() * Math.PI / 180);
            const copy = document.createElement('canvas');
            copy.width = gl.width; copy.height = gl.height;
            const ctx = copy.getContext('2d');
            ctx.drawImage(gl, 0, 0);
            const w = Math.round(gl.width / 10), h = Math.round(gl.height / 10);
            const d = ctx.getImageData(Math.round(gl.width / 2 - w / 2), Math.round(gl.height / 2 - h / 2), w, h).data;
            const sum = [0, 0, 0];
            for (let i = 0; i < d.length; i += 4) { sum[0] += d[i]; sum[1] += d[i + 1]; sum[2] += d[i + 2]; }
            return sum.map(v => v / (d.length / 4));
        };
        const out = [];  // views inside colour sectors, off the grid lines
        const views = [[0, 28], [0, 118], [0, -152], [0, -62], [50, 73], [-50, -107], [80, 28], [-80, 163]];
        for (const [pitch, yaw] of views) {
            for (const v of [tiles, base]) { v.setPitch(pitch, false); v.setYaw(yaw, false); v.setHfov(100, false); }
            await new Promise(done => setTimeout(done, 700));
            const a = centre(tiles), b = centre(base);
            out.push(Math.max(...a.map((v, i) => Math.abs(v - b[i]))));
        }
        return out;
    }""")
    assert max(differences) < 25, differences
    assert not errors, errors
    page.close()
