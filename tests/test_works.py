"""The cloud class: the works API and pages, curator-only writes, filters and pagination, the CSV import."""
import io
import secrets

import pytest
from werkzeug.test import EnvironBuilder

from tests import samples
from tests.conftest import csrf_from, login
from tests.test_api_pavilions import assert_error, create
from tests.test_days import make_day

ITEM_KEYS = {"id", "title", "kind", "scenario", "topics", "media"}
MEDIA_KEYS = {"id", "kind", "meta", "renditions"}


def marker():
    return f"t{secrets.token_hex(5)}"


def upload(api, user, data, filename="photo.jpg"):
    builder = EnvironBuilder(path="/api/v1/works/media", method="POST", headers=api(user)._headers(),
                             data={"file": (io.BytesIO(data), filename)}, environ_base=api(user).client.environ_base)
    environ = builder.get_environ()
    builder.close()
    try:
        return api(user).client.open(environ)
    finally:
        environ["wsgi.input"].close()


def article(api, curator, **fields):
    body = {"title": "网络安全小课堂", "kind": "article", "scenario": "office", "topics": ["network_security"],
            "body": "<p>Hello</p>", **fields}
    answer = api(curator).post("/api/v1/works", json=body)
    assert answer.status_code == 201, answer.get_json()
    return answer.get_json()


def works(api, **params):
    answer = api().get("/api/v1/works", query_string=params)
    assert answer.status_code == 200, answer.get_json()
    return answer.get_json()


def test_an_image_work_is_listed_with_expanded_public_media(app, api, curator, worker):
    sent = upload(api, curator, samples.jpeg(400, 300))
    assert sent.status_code == 202 and set(sent.get_json()) == {"id", "kind", "status"}
    media_id = sent.get_json()["id"]
    assert api(curator).wait_media(media_id)["status"] == "ready"
    topic = marker()
    created = api(curator).post("/api/v1/works", json={
        "title": "Phishing at the office", "kind": "image", "scenario": "office", "topics": [topic, "data_security"],
        "media": [media_id], "summary": "Three pictures"})
    assert created.status_code == 201, created.get_json()
    body = works(api, topic=topic)
    assert body["next"] is None and len(body["items"]) == 1
    item = body["items"][0]
    assert set(item) == ITEM_KEYS and item["id"] == created.get_json()["id"]
    assert item["title"] == "Phishing at the office" and item["kind"] == "image" and item["scenario"] == "office"
    assert item["topics"] == [topic, "data_security"]
    assert [set(m) for m in item["media"]] == [MEDIA_KEYS] and item["media"][0]["id"] == media_id
    assert item["media"][0]["renditions"]
    url = next(iter(item["media"][0]["renditions"].values()))
    served = app.test_client().get(url.replace("http://localhost", ""))
    assert served.status_code == 200  # a published work's media are public
    served.close()
    page = app.test_client().get(f"/works/{item['id']}").get_data(as_text=True)
    assert 'data-block-kind="image"' in page and "js/gallery.js" in page
    # Hidden again: the work leaves the catalogue and its media are private.
    login(api().client, curator)
    form = api().client.get("/review/works")
    assert api().client.post("/review/works", data={"csrf_token": csrf_from(form.get_data(as_text=True)),
                                                    "toggle": item["id"]}).status_code == 302
    assert works(api, topic=topic)["items"] == []
    assert app.test_client().get(url.replace("http://localhost", "")).status_code == 404
    assert app.test_client().get(f"/works/{item['id']}").status_code == 404


def test_only_curators_write_works(api, exhibitor):
    body = {"title": "x", "kind": "article", "scenario": "office", "body": "<p>x</p>"}
    assert_error(api().post("/api/v1/works", json=body), 401, "unauthorized")
    assert_error(api(exhibitor).post("/api/v1/works", json=body), 403, "forbidden")
    assert_error(upload(api, None, samples.jpeg(20, 20)), 401, "unauthorized")
    assert_error(upload(api, exhibitor, samples.jpeg(20, 20)), 403, "forbidden")


@pytest.mark.parametrize("changes,code", [
    ({"title": ""}, "title_required"), ({"kind": "podcast"}, "invalid_kind"),
    ({"scenario": "space"}, "invalid_scenario"), ({"topics": ["Not a topic!"]}, "invalid_topics"),
    ({"body": ""}, "body_required"), ({"kind": "video", "media": []}, "media_count"),
    ({"kind": "image", "media": ["nope"]}, "unknown_media"), ({"media": "x"}, "invalid_media"),
    ({"published": "yes"}, "invalid_published"),
])
def test_bad_works_are_refused_with_a_clear_error(api, curator, changes, code):
    body = {"title": "x", "kind": "article", "scenario": "office", "body": "<p>x</p>", **changes}
    assert_error(api(curator).post("/api/v1/works", json=body), 422, code)


def test_a_pavilions_media_cannot_become_a_work(api, curator, exhibitor):
    pav = create(api, exhibitor)
    media = api(exhibitor).upload(pav["id"], samples.jpeg(40, 30)).get_json()
    body = {"title": "x", "kind": "image", "scenario": "office", "media": [media["id"]]}
    assert_error(api(curator).post("/api/v1/works", json=body), 422, "unknown_media")


def test_kind_of_media_must_match_the_work(api, curator):
    image = upload(api, curator, samples.jpeg(40, 30)).get_json()
    body = {"title": "x", "kind": "video", "scenario": "office", "media": [image["id"]]}
    assert_error(api(curator).post("/api/v1/works", json=body), 422, "media_kind_mismatch")


def test_filters_search_and_cursor_pagination(api, curator):
    topic = marker()
    made = [article(api, curator, title=f"数据安全第{n}课", scenario="daily_life" if n % 2 else "office",
                    topics=[topic], summary="Keep DATA safe" if n == 3 else "") for n in range(5)]
    hidden = article(api, curator, title="数据安全 hidden", topics=[topic], published=False)
    seen, cursor = [], None
    for _ in range(10):
        body = works(api, topic=topic, limit=2, **({"cursor": cursor} if cursor else {}))
        assert len(body["items"]) <= 2
        seen += [i["id"] for i in body["items"]]
        cursor = body["next"]
        if cursor is None:
            break
    assert seen == [w["id"] for w in reversed(made)]  # newest first, each once, the hidden one never
    assert hidden["id"] not in seen
    assert {i["id"] for i in works(api, topic=topic, scenario="daily_life")["items"]} == {made[1]["id"], made[3]["id"]}
    assert [i["id"] for i in works(api, topic=topic, q="第2课")["items"]] == [made[2]["id"]]
    assert [i["id"] for i in works(api, topic=topic, q="keep data")["items"]] == [made[3]["id"]]
    assert_error(api().get("/api/v1/works", query_string={"cursor": "nonsense"}), 422, "invalid_cursor")
    assert_error(api().get("/api/v1/works", query_string={"scenario": "space"}), 422, "invalid_scenario")
    assert_error(api().get("/api/v1/works", query_string={"limit": "0"}), 422, "invalid_limit")


def test_catalogue_and_work_pages(app, api, curator):
    topic = marker()
    work = article(api, curator, title="Article page", topics=[topic],
                   body='<p onclick="x()">Safe<script>alert(1)</script></p>')
    visitor = app.test_client()
    page = visitor.get("/works", query_string={"topic": topic, "scenario": "office"})
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and f'data-work="{work["id"]}"' in html
    assert 'aria-current="true"' in html and "programme-days.css" in html
    assert "<script>" not in html and "style=" not in html
    assert f'data-work="{work["id"]}"' not in visitor.get("/works", query_string={
        "topic": topic, "scenario": "daily_life"}).get_data(as_text=True)
    assert f'data-work="{work["id"]}"' in visitor.get("/works", query_string={"q": "article PAGE"}).get_data(
        as_text=True)
    shown = visitor.get(f"/works/{work['id']}").get_data(as_text=True)
    assert 'data-block-kind="text"' in shown and "Safe" in shown
    assert "onclick" not in shown and "alert(1)" not in shown
    assert visitor.get("/works/nope").status_code == 404


def test_works_attach_to_days_and_only_published_ones_show(api, curator):
    shown, hidden = article(api, curator), article(api, curator, published=False)
    day = make_day(api, curator, works=[shown["id"], hidden["id"]])
    assert day["works"] == [shown["id"]]
    assert f'data-work="{shown["id"]}"' in api().get(f"/days/{day['slug']}").get_data(as_text=True)


def test_curators_add_works_on_the_web(api, client, curator):
    login(client, curator)
    form = client.get("/review/works")
    token = csrf_from(form.get_data(as_text=True))
    sent = client.post("/review/works/media", data={"csrf_token": token,
                                                    "file": (io.BytesIO(samples.jpeg(40, 30)), "a.jpg")},
                       content_type="multipart/form-data")
    assert sent.status_code == 302
    page = client.get("/review/works").get_data(as_text=True)
    assert "a.jpg" in page
    topic = marker()
    answer = client.post("/review/works", data={"csrf_token": token, "title": "Web article", "kind": "article",
                                                "scenario": "other", "topics": f"{topic}; data_security",
                                                "body": "<p>Hi</p>", "published": "1"})
    assert answer.status_code == 302, answer.get_data(as_text=True)
    assert [(i["title"], i["topics"]) for i in works(api, topic=topic)["items"]] == [
        ("Web article", [topic, "data_security"])]
    refused = client.post("/review/works", data={"csrf_token": token, "title": "", "kind": "article"})
    assert refused.status_code == 200 and 'role="alert">A work needs a' in refused.get_data(as_text=True)
    no_csrf = client.post("/review/works/media", data={"file": (io.BytesIO(samples.jpeg(40, 30)), "b.jpg")},
                          content_type="multipart/form-data", follow_redirects=True)
    assert "The page expired" in no_csrf.get_data(as_text=True)


def test_csv_import_creates_works_and_explains_refused_rows(app, api, curator, tmp_path):
    topic = marker()
    (tmp_path / "media").mkdir()
    (tmp_path / "media" / "poster.jpg").write_bytes(samples.jpeg(60, 40))
    (tmp_path / "lesson.html").write_text("<p>个人信息<script>x</script></p>", encoding="utf-8")
    (tmp_path / "works.csv").write_text(
        "title,kind,scenario,topics,file,summary,title_en\n"
        f"海报,image,office,{topic};data_security,media/poster.jpg,一张海报,A poster\n"
        f"讲义,article,daily_life,{topic},lesson.html,,\n"
        f"Bad kind,podcast,office,{topic},media/poster.jpg,,\n"
        f"Missing file,image,office,{topic},media/nope.jpg,,\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["works", "import", str(tmp_path / "works.csv"),
                                                "--as", curator.email])
    lines = result.output.splitlines()
    assert result.exit_code == 1, result.output
    assert lines[0].startswith("line 2: created work") and "queued for processing" in lines[0]
    assert lines[1].startswith("line 3: created work")
    assert lines[2] == "line 4: refused: 'kind' must be one of video, audio, image, h5, article."
    assert lines[3] == "line 5: refused: the file media/nope.jpg does not exist next to the CSV."
    assert lines[-1] == "2 work(s) created, 2 row(s) refused."
    items = works(api, topic=topic)["items"]
    assert sorted((i["title"], i["kind"]) for i in items) == [("海报", "image"), ("讲义", "article")]
    poster = next(i for i in items if i["kind"] == "image")
    assert poster["topics"] == [topic, "data_security"] and poster["media"][0]["kind"] == "image"
    lesson = next(i for i in items if i["kind"] == "article")
    assert "script" not in api().get(f"/works/{lesson['id']}").get_data(as_text=True).split("<main")[1]


def test_csv_import_needs_its_columns_and_a_curator(app, tmp_path, exhibitor):
    path = tmp_path / "bad.csv"
    path.write_text("title,kind\nx,article\n", encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["works", "import", str(path)])
    assert result.exit_code == 1 and "lacks the column(s) scenario, topics, file, summary" in result.output
    result = app.test_cli_runner().invoke(args=["works", "import", str(path), "--as", exhibitor.email])
    assert result.exit_code == 1 and "is not an active curator or admin" in result.output
