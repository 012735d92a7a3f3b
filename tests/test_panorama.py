"""VR panoramas: the 2:1 check, the base, the blurred preview, the cube-tile pyramid, end to end through the worker."""
import io
import math
import re
import time

import pytest
from PIL import Image, ImageChops, ImageFilter, ImageStat

from media import panorama
from media.images import ImageRejected, render_panorama
from tests import samples
from tests.test_api_pavilions import create

MAX_PIXELS = 100_000_000
TILE_NAME = re.compile(r"^tiles/(\d+)/([frblud])(\d+)_(\d+)\.jpg$")


def _render(tmp_path, data):
    source = tmp_path / "upload.bin"
    source.write_bytes(data)
    out = tmp_path / "out"
    out.mkdir()
    return render_panorama(source, out, MAX_PIXELS)


def _sharpness(image):
    return ImageStat.Stat(image.convert("L").filter(ImageFilter.FIND_EDGES)).mean[0]


@pytest.mark.parametrize("size", [(1000, 700), (2000, 1040), (1000, 1000)])
def test_only_two_to_one_images_are_panoramas(tmp_path, size):
    with pytest.raises(ImageRejected) as caught:
        _render(tmp_path, samples.jpeg(*size))
    assert caught.value.code == "not_equirectangular"
    assert f"{size[0]}×{size[1]}" in caught.value.message and "2:1" in caught.value.message


def test_within_one_percent_of_two_to_one_is_accepted(tmp_path):
    meta, files = _render(tmp_path, samples.jpeg(2000, 1010))
    assert meta["projection"] == "equirectangular" and "multires" not in meta
    assert [name for name, *_rest in files] == ["base.jpg", "preview.jpg"]


def test_pixel_limit_is_enforced_before_decoding(tmp_path):
    source = tmp_path / "big.png"
    source.write_bytes(samples.png_claiming(20000, 10000))
    with pytest.raises(ImageRejected) as caught:
        render_panorama(source, tmp_path, MAX_PIXELS)
    assert caught.value.code == "image_too_large" and "100 MP" in caught.value.message


def test_big_panorama_gets_a_4096_base_a_blurred_preview_and_no_metadata(tmp_path):
    meta, files = _render(tmp_path, samples.jpeg(4608, 2304, gps=True))
    by_name = {name: (path, content_type, width) for name, path, content_type, width in files}
    assert meta["width"] == 4608 and meta["height"] == 2304
    with Image.open(by_name["base.jpg"][0]) as base:
        assert base.size == (4096, 2048) and by_name["base.jpg"][2] == 4096
        sharp = _sharpness(base.resize((512, 256), Image.Resampling.BILINEAR))
    with Image.open(by_name["preview.jpg"][0]) as preview:
        assert preview.size == (512, 256)
        assert _sharpness(preview) < sharp * 0.7, "the preview is not blurred"
    assert by_name["preview.jpg"][0].stat().st_size < 40_000
    for name in ("base.jpg", "preview.jpg", "tiles/3/f0_0.jpg", "tiles/fallback/u.jpg"):
        path, content_type, _width = by_name[name]
        data = path.read_bytes()
        assert content_type == "image/jpeg"
        assert b"TestCam" not in data and b"SecretSoftware" not in data, name
        with Image.open(io.BytesIO(data)) as image:
            assert not image.getexif() and not {"exif", "xmp", "icc_profile"} & set(image.info), name


def test_tiles_form_pannellum_multires_levels_of_512_px(tmp_path):
    meta, files = _render(tmp_path, samples.jpeg(4608, 2304))
    cube = 8 * int(4608 / math.pi / 8)
    levels = math.ceil(math.log2(cube / 512)) + 1
    assert meta["multires"] == {"path": "/%l/%s%y_%x", "fallbackPath": "/fallback/%s", "extension": "jpg",
                                "tileResolution": 512, "maxLevel": levels, "cubeResolution": cube}
    assert (cube, levels) == (1464, 3)
    tiles = {}
    for name, path, _type, width in files:
        match = TILE_NAME.match(name)
        if match:
            level, face, row, col = match[1], match[2], int(match[3]), int(match[4])
            with Image.open(path) as tile:
                tiles[(int(level), face, row, col)] = tile.size
            assert width == tiles[(int(level), face, row, col)][0]
    for level in range(1, levels + 1):
        size = cube // 2 ** (levels - level)
        count = math.ceil(size / 512)
        for face in "frblud":
            for row in range(count):
                for col in range(count):
                    edge = (size - 512 * col if col == count - 1 else 512,
                            size - 512 * row if row == count - 1 else 512)
                    assert tiles.pop((level, face, row, col)) == edge
    assert not tiles, f"unexpected tiles {sorted(tiles)}"
    fallbacks = sorted(name for name, *_rest in files if name.startswith("tiles/fallback/"))
    assert fallbacks == [f"tiles/fallback/{face}.jpg" for face in sorted("frblud")]
    assert [name for name, *_rest in files][-2:] == ["base.jpg", "preview.jpg"]  # entries after what they lead to


def _colour_by_longitude(width):
    """An equirectangular image whose colour tells the longitude (8 sectors) and the poles (top/bottom 5 %)."""
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 255, 0), (255, 0, 255), (0, 255, 255),
               (128, 128, 128), (255, 128, 0)]
    image = Image.new("RGB", (width, width // 2))
    for sector, colour in enumerate(colours):
        image.paste(colour, (sector * width // 8, 0, (sector + 1) * width // 8, width // 2))
    image.paste((255, 255, 255), (0, 0, width, width // 40))
    image.paste((0, 0, 0), (0, width // 2 - width // 40, width, width // 2))
    return image


def test_cube_faces_look_where_pannellum_expects():
    width, size = 1024, 160
    image = _colour_by_longitude(width)

    def seen(lon, lat):
        return image.getpixel((int((lon / 360 + 0.5) * width) % width, int((0.5 - lat / 180) * (width // 2))))

    faces = {face: panorama.cube_face(image, face, size) for face in "frblud"}
    centre, edge = size // 2, size - 3
    # Slightly off centre, so each point falls inside one colour sector.
    assert faces["f"].getpixel((centre + 10, centre)) == seen(5, 0)
    assert faces["r"].getpixel((centre + 10, centre)) == seen(95, 0)
    assert faces["b"].getpixel((centre + 10, centre)) == seen(-175, 0)
    assert faces["l"].getpixel((centre + 10, centre)) == seen(-85, 0)
    assert faces["u"].getpixel((centre, centre)) == (255, 255, 255)
    assert faces["d"].getpixel((centre, centre)) == (0, 0, 0)
    # The up face's lower edge meets the front face, its right edge the right face; the down face mirrors it.
    assert faces["u"].getpixel((centre + 10, edge)) == seen(5, 45)
    assert faces["u"].getpixel((edge, centre - 10)) == seen(95, 45)
    assert faces["d"].getpixel((centre + 10, 2)) == seen(5, -45)
    assert faces["d"].getpixel((edge, centre + 10)) == seen(95, -45)


def test_panorama_end_to_end_serves_base_preview_and_tiles_from_one_run(api, client, exhibitor, worker):
    pavilion = create(api, exhibitor)
    answer = api(exhibitor).upload(pavilion["id"], samples.jpeg(4608, 2304, gps=True), kind="panorama")
    assert answer.status_code == 202, answer.get_json()
    media = api(exhibitor).wait_media(answer.get_json()["id"], timeout=120)
    assert media["status"] == "ready", media
    assert set(media["renditions"]) == {"base", "preview"}
    multires = media["meta"]["multires"]
    base, preview = media["renditions"]["base"], media["renditions"]["preview"]
    folder = base.rsplit("/", 1)[0]
    assert preview.rsplit("/", 1)[0] == folder
    for url, size in ((base, (4096, 2048)), (preview, (512, 256))):
        got = api(exhibitor).get(url)
        with Image.open(io.BytesIO(got.data)) as image:
            assert got.status_code == 200 and image.size == size
    level = multires["maxLevel"]
    for path, size in ((f"/{level}/u0_0", (512, 512)), (f"/{level}/d2_2", (440, 440)), ("/1/b0_0", (366, 366)),
                       ("/fallback/r", (512, 512))):
        got = api(exhibitor).get(f"{folder}/tiles{path}.{multires['extension']}")
        assert got.status_code == 200, path
        assert got.headers["Content-Type"] == "image/jpeg"
        with Image.open(io.BytesIO(got.data)) as image:
            assert image.size == size
        assert b"TestCam" not in got.data
    assert api(exhibitor).get(f"{folder}/tiles/{level + 1}/u0_0.jpg").status_code == 404
    assert client.get(f"{folder}/tiles/1/f0_0.jpg").status_code == 404  # not published: the owner's only


def test_hotspots_may_target_another_block(api, exhibitor):
    pavilion = create(api, exhibitor)
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"id": "b_sceneone", "kind": "panorama", "hotspots": [
        {"pitch": 0, "yaw": 10, "text": "next room", "target": "b_scenetwo"}, {"pitch": 5, "yaw": 0, "text": "desk"}]},
        {"id": "b_scenetwo", "kind": "panorama"}]
    answer = api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft)
    assert answer.status_code == 200, answer.get_json()
    spots = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()["blocks"][0]["hotspots"]
    assert spots == [{"pitch": 0.0, "yaw": 10.0, "text": "next room", "target": "b_scenetwo"},
                     {"pitch": 5.0, "yaw": 0.0, "text": "desk"}]
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"][0]["hotspots"][0]["target"] = "../../etc"
    answer = api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft)
    assert answer.status_code == 422 and "target" in answer.get_json()["error"]["message"]


def test_tiling_stays_fast_for_an_8192_panorama(tmp_path):
    image = Image.new("RGB", (8192, 4096), (90, 120, 150))
    image.paste(ImageChops.invert(image.crop((0, 0, 4096, 2048))), (0, 0))
    started = time.perf_counter()
    multires, files = panorama.render_tiles(image, tmp_path)
    took = time.perf_counter() - started
    assert multires["cubeResolution"] == 2600 and multires["maxLevel"] == 4
    assert len(files) == 6 * (1 + 36 + 9 + 4 + 1)
    assert took < 30, f"tiling an 8192×4096 panorama took {took:.1f} s"


def test_editor_offers_the_click_to_place_picker_with_the_textarea_as_fallback(api, client, exhibitor):
    from tests.conftest import login

    pavilion = create(api, exhibitor)
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "panorama", "hotspots": [{"pitch": 1.5, "yaw": -20, "text": "door"}]}]
    assert api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft).status_code == 200
    login(client, exhibitor)
    html = client.get(f"/studio/pavilions/{pavilion['id']}").get_data(as_text=True)
    assert 'class="hotspot-picker" hidden data-media-select="b0-media" data-hotspots="b0-hotspots"' in html
    assert "/static/js/hotspots.js" in html and "/static/vendor/pannellum/pannellum.js" in html
    assert "1.5, -20.0, door" in html and "style=" not in html


def test_the_editor_links_hotspots_to_blocks_by_number(api, client, exhibitor):
    from tests.conftest import csrf_from, login

    pavilion = create(api, exhibitor)
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "panorama", "title": "Lobby"}, {"kind": "panorama", "title": "Hall"}]
    assert api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft).status_code == 200
    login(client, exhibitor)
    editor = f"/studio/pavilions/{pavilion['id']}"
    html = client.get(editor).get_data(as_text=True)
    assert '<option value="2" data-label="Hall">2. panorama · Hall</option>' in html  # the picker's link choice
    saved = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    first, second = (block["id"] for block in saved["blocks"])

    def post(lines, version):
        return client.post(editor, data={
            "csrf_token": csrf_from(client.get(editor).get_data(as_text=True)), "version": version, "op": "save",
            "name": saved["name"], "block_count": "3",
            "blocks-0-kind": "panorama", "blocks-0-id": first, "blocks-0-hotspots": lines,
            "blocks-1-kind": "panorama", "blocks-1-id": second, "blocks-1-hotspots": "",
            "blocks-2-kind": "text", "blocks-2-html": "<p>new</p>"}, follow_redirects=True)

    answer = post("0, 10, To the hall -> 2\n5, -30, Read on -> 3\n1, 2, desk, with, commas", saved["version"])
    assert answer.status_code == 200 and "Draft saved" in answer.get_data(as_text=True)
    after = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    new_text = after["blocks"][2]["id"]
    assert new_text.startswith("b_")  # the block added in this save got its id before the link was resolved
    assert after["blocks"][0]["hotspots"] == [
        {"pitch": 0.0, "yaw": 10.0, "text": "To the hall", "target": second},
        {"pitch": 5.0, "yaw": -30.0, "text": "Read on", "target": new_text},
        {"pitch": 1.0, "yaw": 2.0, "text": "desk, with, commas"}]
    html = client.get(editor).get_data(as_text=True)
    assert "0.0, 10.0, To the hall -> 2\n5.0, -30.0, Read on -> 3\n1.0, 2.0, desk, with, commas" in html

    for bad in ("0, 10, nowhere -> 9", "0, 10, itself -> 1"):
        answer = post(bad, after["version"])
        text = answer.get_data(as_text=True)
        assert "is not another block of this pavilion" in text and bad.replace(">", "&gt;") in text
    assert api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()["version"] == after["version"]
