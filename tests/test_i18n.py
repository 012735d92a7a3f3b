"""The two interface languages: choosing one, the switch, and catalogues that cover every string in the sources."""
import html as htmllib
import re
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
CATALOGUES = ROOT / "translations"
# Simplified Chinese is stored under Babel's name for zh_CN, the one Flask-Babel looks up.
ZH = "zh_Hans_CN"
LOCALES = (ZH, "en")
# The same keywords as translations/update.sh passes to `pybabel extract`.
KEYWORDS = {**DEFAULT_KEYWORDS, "lazy_gettext": None, "_l": None}
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
UPDATE = "run translations/update.sh, translate the new entries in translations/zh_Hans_CN/LC_MESSAGES/messages.po, " \
         "then run it again to compile"


@pytest.fixture
def visitor(app):
    """A browser that sends no Accept-Language and no cookie unless a test says so."""
    browser = app.test_client()
    browser.environ_base.pop("HTTP_ACCEPT_LANGUAGE", None)  # conftest's clients default to English
    return browser


def _page(visitor, path="/", **headers):
    answer = visitor.get(path, headers=headers)
    assert answer.status_code == 200, (path, answer.status_code)
    return answer.get_data(as_text=True)


def _switch_links(html):
    """Return {language code: the <a> tag} of the header's language switch."""
    nav = re.search(r'<nav class="langs"[^>]*>(.*?)</nav>', html, re.S)
    assert nav, "the page has no language switch"
    return {m.group(1): m.group(0) for m in re.finditer(r'<a href="/lang/(\w+)[^>]*>', nav.group(1))}


def _next_of(tag):
    """Return the `next` page of a switch link."""
    href = htmllib.unescape(re.search(r'href="([^"]+)"', tag).group(1))
    return parse_qs(urlsplit(href).query)["next"][0]


def _catalogue(locale):
    with open(CATALOGUES / locale / "LC_MESSAGES" / "messages.po", "rb") as po:
        return read_po(po, locale=locale)


def _source_msgids():
    """Extract every interface string from the sources, as `pybabel extract -F babel.cfg` does."""
    with open(ROOT / "babel.cfg") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, filename=str(ROOT / "babel.cfg"))
    found = extract_from_dir(str(ROOT), method_map, options_map, keywords=KEYWORDS)
    return {message if isinstance(message, str) else message[0] for _file, _line, message, _c, _ctx in found}


def _translated(message):
    """Tell whether MESSAGE has a checked translation for every form."""
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return not message.fuzzy and all(strings)


def _texts(message):
    """Return (msgid, msgstr) pairs of MESSAGE, one per plural form."""
    ids = message.id if isinstance(message.id, tuple) else (message.id,)
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return [(ids[min(i, len(ids) - 1)], s) for i, s in enumerate(strings)]


def test_chinese_is_the_default_and_for_chinese_browsers(visitor):
    for headers in ({}, {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}, {"Accept-Language": "de-DE"}):
        html = _page(visitor, **headers)
        assert '<html lang="zh-CN">' in html, headers
        assert "跳到正文" in html and "登录" in html and "Skip to content" not in html, headers
        assert 'aria-current="true"' in _switch_links(html)["zh_CN"]


def test_english_browsers_get_english(visitor):
    html = _page(visitor, **{"Accept-Language": "en-US,en;q=0.9"})
    assert '<html lang="en">' in html
    assert "Skip to content" in html and "Sign in" in html and "跳到正文" not in html
    assert 'aria-current="true"' in _switch_links(html)["en"]


def test_the_cookie_wins_over_accept_language(visitor):
    visitor.set_cookie("lang", "en")
    html = _page(visitor, **{"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in html and "Sign in" in html


def test_the_header_links_to_both_languages_back_to_this_page(visitor):
    links = _switch_links(_page(visitor, "/login?next=%2Fstudio%2F"))
    assert set(links) == {"zh_CN", "en"}
    assert 'lang="zh-CN"' in links["zh_CN"] and 'lang="en"' in links["en"]
    assert _next_of(links["en"]) == _next_of(links["zh_CN"]) == "/login?next=%2Fstudio%2F"
    assert sum("aria-current" in tag for tag in links.values()) == 1


def test_the_switch_sets_the_cookie_and_goes_back(visitor):
    answer = visitor.get("/lang/en", query_string={"next": "/login?next=/studio/"})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/login?next=/studio/"
    [cookie] = [c for c in answer.headers.getlist("Set-Cookie") if c.startswith("lang=")]
    assert cookie.startswith("lang=en;") and "Max-Age=31536000" in cookie and "SameSite=Lax" in cookie
    assert "no-store" in answer.headers["Cache-Control"]
    html = _page(visitor, "/login", **{"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in html and "Password" in html
    visitor.get("/lang/zh_CN?next=/")
    assert '<html lang="zh-CN">' in _page(visitor, **{"Accept-Language": "en"})


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "\\\\evil.example",
                                    "javascript:alert(1)", "http:/evil.example", ""])
def test_the_switch_never_redirects_off_site(visitor, target):
    answer = visitor.get("/lang/en", query_string={"next": target})
    assert answer.status_code == 302
    assert answer.headers["Location"] == "/"


def test_an_unknown_language_is_refused(visitor):
    answer = visitor.get("/lang/fr?next=/")
    assert 400 <= answer.status_code < 500
    assert not any(c.startswith("lang=") for c in answer.headers.getlist("Set-Cookie"))


def test_every_interface_string_has_a_chinese_translation():
    catalogue = _catalogue(ZH)
    missing = sorted(msgid for msgid in _source_msgids()
                     if catalogue.get(msgid) is None or not _translated(catalogue.get(msgid)))
    assert not missing, f"untranslated or fuzzy in {ZH} ({UPDATE}): {missing}"


def test_run_time_labels_cover_every_enum_value_the_templates_translate():
    from expo.i18n import RUNTIME_LABELS
    from expo.models import Role
    from media.states import MediaKind, MediaStatus
    from pavilions import blocks, uploads_views
    from pavilions.states import Decision, PavilionStatus, RevisionState

    shown = {e.value for enum in (Role, MediaKind, MediaStatus, Decision, PavilionStatus, RevisionState)
             for e in enum} | set(blocks.KINDS) | set(uploads_views.KINDS)
    missing = sorted(shown - set(RUNTIME_LABELS))
    assert not missing, f"templates show these through _(value): add them to expo/i18n.py RUNTIME_LABELS: {missing}"


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_every_placeholder(locale):
    wrong = []
    for message in _catalogue(locale):
        for msgid, msgstr in _texts(message):
            if not message.id or not msgstr:
                continue
            # Templates always %-format (newstyle gettext): a stray % in a translation would break the page.
            stray = "%" in PLACEHOLDER.sub("", msgstr)
            if Counter(PLACEHOLDER.findall(msgid)) != Counter(PLACEHOLDER.findall(msgstr)) or stray:
                wrong.append((msgid, msgstr))
    assert not wrong, f"{locale}: placeholders differ from the original: {wrong}"


@pytest.mark.parametrize("locale", LOCALES)
def test_the_committed_mo_files_are_compiled_from_their_po(locale):
    with open(CATALOGUES / locale / "LC_MESSAGES" / "messages.mo", "rb") as mo:
        compiled = {m.id: m.string for m in read_mo(mo) if m.id}
    # What `pybabel compile` writes: every message with a translation that is not fuzzy.
    expected = {m.id: m.string for m in _catalogue(locale) if m.id and m.string and not m.fuzzy}
    assert compiled == expected, f"translations/{locale}: the .mo is stale; {UPDATE}"
