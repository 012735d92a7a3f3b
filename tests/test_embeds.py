"""Embeds: a curator-managed allow-list of hosts, click-to-load sandboxed frames, clear refusals."""
from tests.conftest import csrf_from, login
from tests.test_api_pavilions import assert_error, create


def _embed(api, user, pavilion, url):
    draft = api(user).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "embed", "url": url, "title": "Tour"}]
    return api(user).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft)


def test_curator_allows_a_host_then_exhibitors_may_embed_it(client, api, exhibitor, curator):
    pavilion = create(api, exhibitor)
    refused = _embed(api, exhibitor, pavilion, "https://vr.example-tours.com/t/1")
    assert_error(refused, 422, "embed_host_not_allowed")
    assert "vr.example-tours.com is not an allowed embed host" in refused.get_json()["error"]["message"]

    login(client, curator)
    page = client.get("/review/embeds").get_data(as_text=True)
    for bad in ("not a host", "https://x.example.com/path", "-x.example.com"):
        answer = client.post("/review/embeds", data={"host": bad, "csrf_token": csrf_from(page)})
        assert "is not a host name" in answer.get_data(as_text=True)
    added = client.post("/review/embeds", data={"host": "VR.Example-Tours.com", "csrf_token": csrf_from(page)})
    assert added.status_code == 302
    assert 'data-host="vr.example-tours.com"' in client.get("/review/embeds").get_data(as_text=True)
    assert "https://vr.example-tours.com" in client.get("/").headers["Content-Security-Policy"]

    assert _embed(api, exhibitor, pavilion, "https://vr.example-tours.com/t/1").status_code == 200
    assert_error(_embed(api, exhibitor, pavilion, "http://vr.example-tours.com/t/1"), 422, "invalid_embed")

    page = client.get("/review/embeds").get_data(as_text=True)
    client.post("/review/embeds", data={"remove": "vr.example-tours.com", "csrf_token": csrf_from(page)})
    assert_error(_embed(api, exhibitor, pavilion, "https://vr.example-tours.com/t/2"), 422, "embed_host_not_allowed")


def test_embed_hosts_page_is_for_curators(client, make_user):
    login(client, make_user("exhibitor"))
    assert client.get("/review/embeds").status_code == 403


def test_published_embed_is_a_click_to_load_placeholder(client, api, exhibitor, curator):
    pavilion = create(api, exhibitor)
    assert _embed(api, exhibitor, pavilion, "https://player.bilibili.com/player.html?bvid=1").status_code == 200
    review = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"})
    page = client.get(f"/pavilions/{pavilion['slug']}").get_data(as_text=True)
    assert 'data-embed-src="https://player.bilibili.com/player.html?bvid=1"' in page
    assert "<iframe" not in page.split('data-block-kind="embed"')[1].split("</section>")[0]
