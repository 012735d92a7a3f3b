"""HTTP caching: fingerprinted static files, ETag/304 on pages, the anonymous page cache and its invalidation."""
import hashlib
import re

from expo import ROOT
from tests.conftest import login
from tests.test_api_pavilions import create, put_draft


def publish(api, exhibitor, curator, name):
    pavilion = create(api, exhibitor, name=name)
    blocks = [{"kind": "text", "html": f"<p>{name}</p>"}]
    assert put_draft(api, exhibitor, pavilion["id"], blocks=blocks).status_code == 200
    review = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    return pavilion


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(app):
    visitor = app.test_client()
    html = visitor.get("/").get_data(as_text=True)
    css = re.search(r'href="(/static/css/expo\.css\?v=([0-9a-f]{12}))"', html)
    assert css, "the stylesheet URL has no fingerprint"
    digest = hashlib.sha256((ROOT / "static/css/expo.css").read_bytes()).hexdigest()[:12]
    assert css.group(2) == digest
    answer = visitor.get(css.group(1))
    assert answer.status_code == 200
    assert answer.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    answer.close()
    stale = visitor.get("/static/css/expo.css?v=000000000000")  # an old deploy's URL: cached briefly only
    assert "immutable" not in stale.headers["Cache-Control"] and "max-age=300" in stale.headers["Cache-Control"]
    stale.close()


def test_pages_revalidate_with_etags(app, api, exhibitor, curator):
    pavilion = publish(api, exhibitor, curator, "Etag booth")
    visitor = app.test_client()
    for path in ("/", f"/pavilions/{pavilion['slug']}"):
        first = visitor.get(path)
        etag = first.headers["ETag"]
        assert first.status_code == 200 and etag
        assert {"Cookie", "Accept-Language"} <= {v.strip() for v in first.headers["Vary"].split(",")}
        again = visitor.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.data == b""
        assert "Content-Security-Policy" in again.headers


def test_anonymous_pages_are_cached_and_invalidated_by_a_publication(app, api, exhibitor, curator):
    cache = app.extensions["expo_page_cache"]
    first = publish(api, exhibitor, curator, "Cached booth one")
    visitor = app.test_client()
    before = visitor.get("/?limit=100")
    assert "Cached booth one" in before.get_data(as_text=True)
    assert before.headers["Cache-Control"] == "public, max-age=0, s-maxage=60"
    assert "Set-Cookie" not in before.headers
    with app.app_context():
        generation = app.extensions["expo_page_generation"]()
    entry = cache.get("en|/?limit=100", generation, 60)
    assert entry is not None and entry[4] == before.data  # the rendered page was kept
    assert visitor.get("/?limit=100").data == before.data  # and served again

    publish(api, exhibitor, curator, "Cached booth two")  # a publication moves the generation at once
    after = visitor.get("/?limit=100").get_data(as_text=True)
    assert "Cached booth two" in after and "Cached booth one" in after
    # Each language has its own copy.
    assert visitor.get("/?limit=100", headers={"Accept-Language": "zh-CN"}).status_code == 200
    with app.app_context():
        generation = app.extensions["expo_page_generation"]()
    assert cache.get("zh_CN|/?limit=100", generation, 60) is not None
    assert first["slug"]


def test_signed_in_pages_are_private_and_never_cached(app, api, client, exhibitor, curator):
    publish(api, exhibitor, curator, "Private view booth")
    cache = app.extensions["expo_page_cache"]
    cache.clear()
    login(client, exhibitor)
    mine = client.get("/?limit=7")
    assert mine.status_code == 200 and "private" in mine.headers["Cache-Control"]
    assert "no-cache" in mine.headers["Cache-Control"]
    with app.app_context():
        generation = app.extensions["expo_page_generation"]()
    assert cache.get("en|/?limit=7", generation, 60) is None
    # An anonymous visitor of the same address gets a page without the signed-in visitor's header.
    anonymous = app.test_client().get("/?limit=7").get_data(as_text=True)
    assert exhibitor.email not in anonymous


def test_an_unreachable_database_gives_the_apps_error_page_not_a_crash(app, monkeypatch):
    def down():
        raise RuntimeError("database unreachable")

    monkeypatch.setitem(app.extensions, "expo_page_generation", down)
    answer = app.test_client().get("/?limit=3")  # the view itself still works on the test database
    assert answer.status_code == 200 and "Traceback" not in answer.get_data(as_text=True)
    static = app.test_client().get("/static/css/expo.css")  # never looked up in the cache
    assert static.status_code == 200
    static.close()
