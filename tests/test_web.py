"""The web pages as people use them: sign-in, the studio editor, review, admin, errors, headers."""
import html as htmllib
import io
import re

from tests import samples
from tests.conftest import csrf_from, login
from tests.test_api_pavilions import create


def page(client, url):
    answer = client.get(url)
    assert answer.status_code == 200, (url, answer.status_code)
    return answer.get_data(as_text=True)


def test_hall_and_login_pages_render(client):
    assert "<h1>" in page(client, "/")
    assert 'name="password"' in page(client, "/login")


def test_login_with_wrong_password_is_refused_with_the_same_message(client, exhibitor):
    token = csrf_from(page(client, "/login"))
    wrong = client.post("/login", data={"email": exhibitor.email, "password": "nope-nope-nope", "csrf_token": token})
    unknown = client.post("/login", data={"email": "nobody@test.expo", "password": "nope-nope-nope",
                                          "csrf_token": token})
    assert wrong.status_code == unknown.status_code == 401
    assert "The e-mail or password is wrong" in wrong.get_data(as_text=True)
    assert "The e-mail or password is wrong" in unknown.get_data(as_text=True)


def test_login_without_csrf_token_is_refused(client, exhibitor):
    answer = client.post("/login", data={"email": exhibitor.email, "password": exhibitor.password})
    assert answer.status_code == 400
    assert client.get("/studio/").status_code == 302  # still signed out


def test_login_is_rate_limited_per_account(client, exhibitor):
    token = csrf_from(page(client, "/login"))
    codes = [client.post("/login", data={"email": exhibitor.email, "password": "wrong-password-x",
                                         "csrf_token": token}).status_code for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
    right = client.post("/login", data={"email": exhibitor.email, "password": exhibitor.password,
                                        "csrf_token": token})
    assert right.status_code == 429
    assert "wait" in right.get_data(as_text=True)


def test_token_endpoint_mints_a_working_token_and_is_rate_limited(client, exhibitor):
    answer = client.post("/api/v1/tokens", json={"email": exhibitor.email, "password": exhibitor.password})
    assert answer.status_code == 201
    token = answer.get_json()["token"]
    assert client.get("/api/v1/reviews", headers={"Authorization": f"Bearer {token}"}).status_code == 403
    codes = [client.post("/api/v1/tokens", json={"email": exhibitor.email, "password": "bad-password-1"}).status_code
             for _ in range(12)]
    assert 429 in codes and codes[0] == 401


def test_open_redirect_in_next_is_refused(client, exhibitor):
    token = csrf_from(page(client, "/login"))
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        answer = client.post(f"/login?next={target}", data={"email": exhibitor.email, "password": exhibitor.password,
                                                             "csrf_token": token})
        assert answer.status_code == 302 and answer.headers["Location"] == "/", target
    answer = client.post("/login?next=/studio/", data={"email": exhibitor.email, "password": exhibitor.password,
                                                       "csrf_token": token})
    assert answer.headers["Location"] == "/studio/"


def _editor_form(html):
    """Return the editor's fields as a browser would send them (checkboxes as checked)."""
    fields = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', html))
    fields.update(re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>([^<]*)</textarea>', html))
    return {name: htmllib.unescape(value) for name, value in fields.items()}


def test_exhibitor_builds_previews_and_submits_in_the_studio(api, client, exhibitor, curator, worker):
    login(client, exhibitor)
    studio = page(client, "/studio/")
    created = client.post("/studio/", data={"name": "Studio Booth", "summary": "From the web",
                                            "csrf_token": csrf_from(studio)})
    assert created.status_code == 302
    edit_url = created.headers["Location"]
    html = page(client, edit_url)
    form = _editor_form(html)
    form.update(op="add", add_kind="text")
    assert client.post(edit_url, data=form).status_code == 302
    html = page(client, edit_url)
    assert 'data-block-kind="text"' in html
    form = _editor_form(html)
    form["blocks-0-html"] = "<p>Hello <b>visitors</b><script>bad()</script></p>"
    form["op"] = "save"
    assert client.post(edit_url, data=form).status_code == 302
    upload = client.post(f"{edit_url}/media", data={"csrf_token": form["csrf_token"], "kind": "image",
                                                    "file": (io.BytesIO(samples.jpeg(800, 600)), "booth.jpg")},
                         content_type="multipart/form-data")
    assert upload.status_code == 302
    html = page(client, edit_url)
    assert "booth.jpg" in html and "data-status-url" in html
    status_url = re.search(r'data-status-url="([^"]+)"', html).group(1)
    media_id = status_url.split("/")[-2]
    for _ in range(200):
        if client.get(status_url).get_json()["status"] in ("ready", "failed"):
            break
        import time

        time.sleep(0.2)
    assert client.get(status_url).get_json()["status"] == "ready"
    form = _editor_form(page(client, edit_url))
    form.update(op="add", add_kind="image")
    client.post(edit_url, data=form)
    form = _editor_form(page(client, edit_url))
    form.update({"op": "save", "blocks-1-media": media_id, "blocks-1-alt": "Our booth"})
    assert client.post(edit_url, data=form).status_code == 302
    form = _editor_form(page(client, edit_url))
    form["op"] = "up-1"
    client.post(edit_url, data=form)
    preview = page(client, f"{edit_url}/preview")
    assert preview.index('data-block-kind="image"') < preview.index('data-block-kind="text"')
    assert "<script>bad()" not in preview and "<b>visitors</b>" in preview
    submitted = client.post(f"{edit_url}/submit", data={"csrf_token": form["csrf_token"]})
    assert submitted.status_code == 302
    assert "Submitted for review" in page(client, edit_url)

    reviewer = client.application.test_client()
    reviewer.environ_base["REMOTE_ADDR"] = "10.250.0.9"
    login(reviewer, curator)
    queue = page(reviewer, "/review/")
    review_url = re.findall(r'href="(/review/[^"]+)"', queue)[-1]
    review = page(reviewer, review_url)
    assert "First publication" in review and 'data-block-kind="image"' in review
    refused = reviewer.post(review_url, data={"decision": "reject", "reason": "", "csrf_token": csrf_from(review)})
    assert "needs a reason" in refused.get_data(as_text=True)
    done = reviewer.post(review_url, data={"decision": "reject", "reason": "Add a caption, please.",
                                           "csrf_token": csrf_from(review)})
    assert done.status_code == 302
    assert "Add a caption, please." in page(client, edit_url)


def test_stale_editor_form_keeps_the_newer_draft(client, api, exhibitor):
    pav = create(api, exhibitor)
    login(client, exhibitor)
    url = f"/studio/pavilions/{pav['id']}"
    form = _editor_form(page(client, url))
    assert client.post(url, data={**form, "summary": "first"}).status_code == 302
    stale = client.post(url, data={**form, "summary": "second"})
    assert stale.status_code == 200 and "Someone saved this draft" in stale.get_data(as_text=True)
    assert api(exhibitor).get(f"/api/v1/pavilions/{pav['id']}/draft").get_json()["summary"] == "first"


def test_other_exhibitors_cannot_open_the_editor(client, api, exhibitor, make_user):
    pav = create(api, exhibitor)
    login(client, make_user("exhibitor"))
    for url in (f"/studio/pavilions/{pav['id']}", f"/studio/pavilions/{pav['id']}/preview"):
        answer = client.get(url)
        assert answer.status_code == 404 and "<!doctype html>" in answer.get_data(as_text=True)


def test_admin_creates_and_deactivates_users_on_the_web(client, make_user):
    from conftest import PASSWORD

    admin = make_user("admin")
    login(client, admin)
    html = page(client, "/admin/users")
    email = f"new-{admin.id[:6].lower()}@test.expo".replace("_", "x").replace("-", "x", 1)
    answer = client.post("/admin/users", data={"email": email, "password": PASSWORD, "role": "exhibitor",
                                               "display_name": "New", "csrf_token": csrf_from(html)})
    assert answer.status_code == 302
    token = client.post("/api/v1/tokens", json={"email": email, "password": PASSWORD}).get_json()["token"]
    headers = {"Authorization": f"Bearer {token}"}
    assert client.post("/api/v1/pavilions", json={"name": "Mine"}, headers=headers).status_code == 201
    html = page(client, "/admin/users")
    row = re.search(rf'data-user="{re.escape(email)}".*?action="([^"]+)"', html, re.S)
    assert client.post(row.group(1), data={"active": "0", "csrf_token": csrf_from(html)}).status_code == 302
    assert client.post("/api/v1/pavilions", json={"name": "Mine"}, headers=headers).status_code == 401


def test_deactivation_ends_web_sessions(app, client, make_user):
    from expo import accounts
    from expo.extensions import db
    from expo.models import User

    user = make_user("exhibitor")
    login(client, user)
    assert client.get("/studio/").status_code == 200
    with app.app_context():
        accounts.set_active(db.session.get(User, user.id), False, actor=None)
        db.session.commit()
    assert client.get("/studio/").status_code == 302


def test_roles_are_enforced_on_pages(client, make_user):
    login(client, make_user("exhibitor"))
    assert client.get("/review/").status_code == 403
    assert client.get("/admin/users").status_code == 403


def test_error_pages_are_friendly(client):
    answer = client.get("/pavilions/does-not-exist")
    body = answer.get_data(as_text=True)
    assert answer.status_code == 404 and "Traceback" not in body and "Back to the expo hall" in body


def test_crash_gives_a_500_page_without_a_trace(app, client):
    app.view_functions["tour.hall"], saved = (lambda: 1 / 0), app.view_functions["tour.hall"]
    app.extensions["expo_page_cache"].clear()  # else an earlier rendering of the hall answers
    try:
        answer = client.get("/")
    finally:
        app.view_functions["tour.hall"] = saved
    assert answer.status_code == 500 and "ZeroDivision" not in answer.get_data(as_text=True)


def test_security_headers_are_strict(client):
    answer = client.get("/")
    csp = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.headers["X-Frame-Options"] == "DENY"
    assert "geolocation=()" in answer.headers["Permissions-Policy"]


