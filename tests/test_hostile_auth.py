"""Hostile visitors at the door: open redirects in `next`, brute force and spraying, lockout as a denial of service,
user enumeration, clickjacking, security headers and cookie flags."""
import re
import secrets
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest

from tests.conftest import ROOT, csrf_from, login

EVIL = "evil.example"
# What browsers make of a Location: leading/trailing controls and spaces stripped, tabs and newlines removed, and
# a backslash read as a slash (WHATWG URL parsing of "special" schemes).
REDIRECTS = [
    f"//{EVIL}", f"///{EVIL}", f"/\\{EVIL}", f"\\/\\/{EVIL}", f"\\\\{EVIL}", f"https:{EVIL}", f"https://{EVIL}/",
    f"http:/{EVIL}", f"%2F%2F{EVIL}", f"/%2F%2F{EVIL}", f" //{EVIL}", f"/\t/{EVIL}", f"/\n/{EVIL}",
    f"/\r\nLocation: https://{EVIL}", "javascript:alert(1)", "JaVaScRiPt:alert(1)", "data:text/html,<script>x</script>",
    f"//{EVIL}@localhost", f"https://localhost.{EVIL}", f"\x00//{EVIL}", f"/\x0b/{EVIL}",
]


def browser_target(location):
    """Return the absolute URL a browser would go to for LOCATION on http://localhost/."""
    cleaned = location.strip("\x00\x01\x02\x03\x04\x05\x06\x07\x08\t\n\x0b\x0c\r\x0e\x0f\x10\x11\x12\x13\x14\x15\x16"
                             "\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f ")
    cleaned = re.sub(r"[\t\n\r]", "", cleaned).replace("\\", "/")
    return urljoin("http://localhost/", cleaned)


def assert_on_site(answer, payload):
    assert answer.status_code in (301, 302, 303, 307, 308), (payload, answer.status_code)
    target = urlsplit(browser_target(answer.headers["Location"]))
    assert target.scheme == "http" and target.netloc == "localhost", (payload, answer.headers["Location"])


def fresh(app):
    """A client from an address no other test uses."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}." \
                                         f"{secrets.randbelow(250) + 1}"
    return client


def sign_in(client, email, password, next_url=None):
    token = csrf_from(client.get("/login").get_data(as_text=True))
    return client.post("/login", query_string={"next": next_url} if next_url is not None else None,
                       data={"email": email, "password": password, "csrf_token": token})


def flash_text(answer):
    """Return the error sentence the login page shows."""
    found = re.search(r'class="flash[^"]*error[^"]*"[^>]*>\s*([^<]+?)\s*<', answer.get_data(as_text=True))
    assert found, answer.get_data(as_text=True)[:2000]
    return found.group(1)


# Open redirects


def test_login_next_never_leads_off_site(app, exhibitor):
    from expo.auth import safe_next

    with app.test_request_context("/login"):
        for payload in REDIRECTS:
            target = urlsplit(browser_target(safe_next(payload)))
            assert (target.scheme, target.netloc) == ("http", "localhost"), payload
    # And through the real form, where a CR/LF that reached the Location header would be a 500.
    for payload in [*REDIRECTS[::4], f"/\r\nLocation: https://{EVIL}"]:
        answer = sign_in(fresh(app), exhibitor.email, exhibitor.password, payload)
        assert_on_site(answer, payload)
    assert sign_in(fresh(app), exhibitor.email, exhibitor.password, "/studio/").headers["Location"] == "/studio/"


def test_language_switch_next_never_leads_off_site(client):
    for payload in REDIRECTS:
        assert_on_site(client.get("/lang/en", query_string={"next": payload}), payload)
    assert client.get("/lang/en", query_string={"next": "/works?q=1"}).headers["Location"] == "/works?q=1"


def test_registration_next_never_leads_off_site(app):
    for payload in (f"//{EVIL}", f"/\t/{EVIL}", f"/\\{EVIL}", "javascript:alert(1)"):
        client = fresh(app)
        token = csrf_from(client.get("/register").get_data(as_text=True))
        answer = client.post("/register", query_string={"next": payload}, data={
            "email": f"r-{secrets.token_hex(5)}@test.expo", "password": "correct-horse-battery",
            "display_name": "Reg", "csrf_token": token})
        assert_on_site(answer, payload)


def test_the_sign_in_redirect_of_a_protected_page_stays_on_site(client):
    answer = client.get(f"/studio/?next=//{EVIL}")
    assert_on_site(answer, "studio")
    assert urlsplit(answer.headers["Location"]).path == "/login"


# Brute force, spraying and lockout


def test_guessing_one_account_is_stopped_for_that_address_but_its_owner_still_signs_in(app, exhibitor):
    attacker, limit = fresh(app), app.config["EXPO_LOGIN_LIMIT"]
    codes = [sign_in(attacker, exhibitor.email, f"guess-{n}-xxxx").status_code for n in range(limit + 1)]
    assert codes[:limit] == [401] * limit and codes[limit] == 429
    # The lock holds for the attacker even with the right password (no oracle), on the page and the API alike.
    assert sign_in(attacker, exhibitor.email, exhibitor.password).status_code == 429
    api_answer = attacker.post("/api/v1/tokens", json={"email": exhibitor.email, "password": exhibitor.password})
    assert api_answer.status_code == 429 and api_answer.get_json()["error"]["code"] == "rate_limited"
    # The owner, elsewhere, is not locked out by the attack.
    owner = fresh(app)
    assert sign_in(owner, exhibitor.email, exhibitor.password).status_code == 302
    assert owner.get("/studio/").status_code == 200
    minted = fresh(app).post("/api/v1/tokens", json={"email": exhibitor.email, "password": exhibitor.password})
    assert minted.status_code == 201


def test_a_distributed_attack_gets_few_guesses_per_address_and_the_owner_still_signs_in(app, exhibitor, monkeypatch):
    monkeypatch.setitem(app.config, "EXPO_LOGIN_LIMIT", 2)  # the same rules, fewer argon2 runs
    guess = {"email": exhibitor.email, "password": "wrong-guess-xx"}
    for _ in range(10):  # 10 addresses × 2 failures (the API's sign-in, the same limits): a distributed attack
        bot = fresh(app)
        assert [bot.post("/api/v1/tokens", json=guess).status_code for _ in range(2)] == [401, 401]
    assert bot.post("/api/v1/tokens", json=guess).status_code == 429
    late = fresh(app)
    assert [sign_in(late, exhibitor.email, "wrong-guess-yy").status_code for _ in range(2)] == [401, 429]
    assert sign_in(fresh(app), exhibitor.email, exhibitor.password).status_code == 302


def test_spraying_one_password_over_many_accounts_is_stopped_per_address(app, exhibitor, monkeypatch):
    monkeypatch.setitem(app.config, "EXPO_LOGIN_LIMIT", 3)  # the same rules, fewer argon2 runs
    sprayer = fresh(app)
    limit = app.config["EXPO_LOGIN_LIMIT"] * 3
    codes = [sign_in(sprayer, f"person{n}-{secrets.token_hex(3)}@test.expo", "Summer2026!").status_code
             for n in range(limit + 1)]
    assert codes[:limit] == [401] * limit and codes[limit] == 429
    # Every further attempt from that address is refused, even a right one, and a forged X-Forwarded-For is no
    # new address.
    assert sign_in(sprayer, exhibitor.email, exhibitor.password).status_code == 429
    sprayer.environ_base["HTTP_X_FORWARDED_FOR"] = "203.0.113.77"
    assert sign_in(sprayer, exhibitor.email, exhibitor.password).status_code == 429


# User enumeration


@pytest.fixture
def counted_verify(monkeypatch):
    """Count the argon2 verifications sign-in runs."""
    from expo import accounts

    real, calls = accounts._hasher, []

    class Counting:
        def verify(self, *args):
            calls.append(args)
            return real.verify(*args)

        def __getattr__(self, name):
            return getattr(real, name)

    monkeypatch.setattr(accounts, "_hasher", Counting())
    return calls


def _deactivated(app, make_user):
    from expo import accounts
    from expo.extensions import db
    from expo.models import User

    user = make_user("exhibitor")
    with app.app_context():
        accounts.set_active(db.session.get(User, user.id), False, None)
        db.session.commit()
    return user


def test_sign_in_answers_alike_for_wrong_password_unknown_email_and_inactive_account(app, make_user, counted_verify):
    known, inactive = make_user("exhibitor"), _deactivated(app, make_user)
    cases = {"wrong password": (known.email, "not-the-password"),
             "unknown e-mail": (f"nobody-{secrets.token_hex(4)}@test.expo", known.password),
             "inactive account": (inactive.email, inactive.password)}
    pages, apis = {}, {}
    for name, (email, password) in cases.items():
        before = len(counted_verify)
        answer = sign_in(fresh(app), email, password)
        pages[name] = (answer.status_code, flash_text(answer))
        # Each path runs the same argon2 verification: an unknown e-mail takes as long as a wrong password.
        assert len(counted_verify) == before + 1, name
        minted = fresh(app).post("/api/v1/tokens", json={"email": email, "password": password})
        apis[name] = (minted.status_code, minted.get_json())
        assert len(counted_verify) == before + 2, name
    assert len(set(pages.values())) == 1, pages
    assert len({(s, str(b)) for s, b in apis.values()}) == 1, apis
    assert pages["wrong password"][0] == 401 and apis["wrong password"][0] == 401


def test_lockout_answers_alike_for_known_and_unknown_accounts(app, exhibitor, monkeypatch):
    monkeypatch.setitem(app.config, "EXPO_LOGIN_LIMIT", 2)
    answers = []
    for email in (exhibitor.email, f"ghost-{secrets.token_hex(4)}@test.expo"):
        client = fresh(app)
        codes = [sign_in(client, email, "wrong-guess-zz").status_code for _ in range(3)]
        last = sign_in(client, email, "wrong-guess-zz")
        answers.append((codes, last.status_code, flash_text(last)))
    assert answers[0] == answers[1] and answers[0][0] == [401, 401, 429]


def test_registering_a_taken_email_does_not_echo_it(app, exhibitor):
    client = fresh(app)
    taken = client.post("/api/v1/register", json={"email": exhibitor.email, "password": "another-password-1",
                                                  "display_name": "Twin"})
    assert taken.status_code == 409 and exhibitor.email not in taken.get_data(as_text=True)


# Headers, clickjacking and cookies


def _sample_urls(app, owner_pavilion, curator_only=False):
    """Fill every GET rule of the URL map with plausible values; return the URLs."""
    values = {"slug": "no-such-slug", "code": "en", "filename": "css/expo.css", "pavilion_id": owner_pavilion,
              "name": "index.m3u8", "run_id": "r"}
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods:
            continue
        args = {arg: values.get(arg, "nope") for arg in rule.arguments}
        urls.append(rule.build(args, append_unknown=False)[1])
    return sorted(set(urls))


class _Scripts(HTMLParser):
    def __init__(self):
        super().__init__()
        self.problems, self._in_script = [], False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.problems += [f"<{tag} {name}>" for name in attrs if name.lower().startswith("on")]
        self.problems += [f"<{tag} {name}=javascript:>" for name, value in attrs.items()
                          if (value or "").strip().lower().startswith("javascript:")]
        if tag == "style":
            self.problems.append("<style>")
        self._in_script = tag == "script"
        if tag == "script" and not (attrs.get("src") or "").startswith("/static/"):
            self.problems.append(f"<script> without a /static/ src: {attrs}")

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        if self._in_script and data.strip():
            self.problems.append(f"inline script: {data[:80]!r}")


def assert_secure_headers(answer, url, framable=False):
    headers = answer.headers
    csp = headers.get("Content-Security-Policy", "")
    directives = {d.split()[0]: d.split()[1:] for d in csp.split(";") if d.strip()}
    script_src = directives.get("script-src", directives.get("default-src"))
    assert script_src and "'unsafe-inline'" not in script_src and "'unsafe-eval'" not in script_src, (url, csp)
    assert headers.get("X-Content-Type-Options") == "nosniff", url
    assert headers.get("Referrer-Policy") in ("strict-origin-when-cross-origin", "no-referrer", "same-origin"), url
    assert "camera=()" in headers.get("Permissions-Policy", ""), url
    assert headers.get("X-Frame-Options") == ("SAMEORIGIN" if framable else "DENY"), url
    if answer.mimetype == "text/html":
        assert directives.get("frame-ancestors") == (["'self'"] if framable else ["'none'"]), (url, csp)
        assert directives.get("object-src") == ["'none'"] and directives.get("base-uri") == ["'none'"], (url, csp)
        parser = _Scripts()
        parser.feed(answer.get_data(as_text=True))
        assert not parser.problems, (url, parser.problems)
    assert "Strict-Transport-Security" not in headers, url  # plain HTTP in tests: HSTS only behind TLS


def test_every_page_type_sends_the_security_headers_and_no_inline_script(app, api, exhibitor, curator, make_user):
    from tests.test_api_pavilions import create

    pav = create(api, exhibitor, "Header booth")
    visitors = {"anonymous": fresh(app), "exhibitor": fresh(app), "curator": fresh(app), "visitor": fresh(app)}
    login(visitors["exhibitor"], exhibitor)
    login(visitors["curator"], curator)
    login(visitors["visitor"], make_user("visitor"))
    urls = _sample_urls(app, pav["id"])
    assert len(urls) > 25
    seen_html = 0
    for who, client in visitors.items():
        for url in urls:
            answer = client.get(url)
            framable = url.endswith("/preview") and answer.status_code == 200
            assert_secure_headers(answer, f"{who} {url}", framable)
            answer.close()  # static files are streamed from an open file
            seen_html += answer.mimetype == "text/html" and answer.status_code == 200
    assert seen_html > 30
    preview = visitors["exhibitor"].get(f"/studio/pavilions/{pav['id']}/preview")
    assert preview.status_code == 200 and "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    # The live preview the editor posts into its frame is framable by the site only, too.
    edit = visitors["exhibitor"].get(f"/studio/pavilions/{pav['id']}").get_data(as_text=True)
    live = visitors["exhibitor"].post(f"/studio/pavilions/{pav['id']}/preview",
                                      data={"csrf_token": csrf_from(edit), "name": "Header booth"})
    assert live.status_code == 200
    assert_secure_headers(live, "live preview", framable=True)


def test_templates_hold_no_inline_script_or_event_handler():
    templates = [*ROOT.glob("expo/templates/**/*.html"), *ROOT.glob("pavilions/**/templates/**/*.html")]
    assert len(templates) > 20
    for path in templates:
        text = Path(path).read_text(encoding="utf-8")
        for tag in re.findall(r"<script\b[^>]*>", text, re.I):
            assert "src=" in tag, (path, tag)
        assert not re.search(r"<script\b[^>]*>\s*[^<\s]", text, re.I), path
        assert not re.search(r"\son[a-z]+\s*=", text, re.I), path
        assert "javascript:" not in text.lower(), path


def _cookies(answer):
    """Return {name: set-cookie line, lower-cased} for ANSWER."""
    return {line.split("=", 1)[0]: line.lower() for line in answer.headers.getlist("Set-Cookie")}


def test_cookies_are_http_only_and_same_site_and_not_secure_over_plain_http(app, exhibitor):
    client = fresh(app)
    session = _cookies(sign_in(client, exhibitor.email, exhibitor.password))["session"]
    assert "httponly" in session and "samesite=lax" in session and "secure" not in session
    lang = _cookies(client.get("/lang/en?next=/"))["lang"]
    assert "httponly" in lang and "samesite=lax" in lang
    vid = _cookies(fresh(app).get("/live"))
    assert all("httponly" in line and "samesite=lax" in line for line in vid.values()), vid
    assert "Strict-Transport-Security" not in client.get("/").headers


@pytest.fixture
def production_app(app, stack, monkeypatch):
    """The app built from ProductionConfig (TLS assumed) on the session's services."""
    import config
    from expo import create_app

    monkeypatch.setenv("EXPO_SECRET_KEY", app.config["SECRET_KEY"])
    settings = config.ProductionConfig()
    settings.TESTING = True
    return create_app(settings)


def test_production_sends_hsts_and_secure_cookies(production_app, exhibitor):
    client = fresh(production_app)
    hall = client.get("/")
    hsts = hall.headers.get("Strict-Transport-Security", "")
    assert hsts.startswith("max-age=") and "includeSubDomains" in hsts, hsts
    answer = sign_in(client, exhibitor.email, exhibitor.password)
    assert answer.status_code == 302
    session = _cookies(answer)["session"]
    assert "secure" in session and "httponly" in session and "samesite=lax" in session
    lang = _cookies(client.get("/lang/zh_CN?next=/"))["lang"]
    assert "secure" in lang and "samesite=lax" in lang
    vid = _cookies(fresh(production_app).get("/live"))
    assert vid and all("secure" in line for line in vid.values()), vid
