"""Pavilion content in both languages: Chinese first, English beside it, each falling back to the other."""
from tests.conftest import csrf_from, login
from tests.test_api_pavilions import _submit, create, put_draft
from tests.test_web import _editor_form, page


def _publish(api, exhibitor, curator, **draft):
    pavilion = create(api, exhibitor, name=draft.pop("name"))
    assert put_draft(api, exhibitor, pavilion["id"], **draft).status_code == 200
    review = _submit(api, exhibitor, pavilion)
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    return pavilion


def test_each_language_sees_its_text_and_falls_back_to_the_other(app, api, exhibitor, curator):
    pavilion = _publish(api, exhibitor, curator, name="反诈展馆", name_en="Anti-fraud pavilion",
                        summary="识别电信诈骗", summary_en="",
                        blocks=[{"kind": "text", "html": "<p>不轻信陌生来电</p>",
                                 "html_en": "<p>Doubt unknown callers</p>"},
                                {"kind": "text", "html": "<p>只有中文</p>"}])
    published = api().get(f"/api/v1/pavilions/{pavilion['slug']}").get_json()
    assert published["name_en"] == "Anti-fraud pavilion" and published["blocks"][0]["html_en"] == \
        "<p>Doubt unknown callers</p>"
    visitor = app.test_client()
    english = visitor.get(f"/pavilions/{pavilion['slug']}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "<h1>Anti-fraud pavilion</h1>" in english and "<title>Anti-fraud pavilion" in english
    assert '<div class="prose"><p>Doubt unknown callers</p></div>' in english
    # No English: the Chinese text, marked as Chinese for screen readers.
    assert '<p class="summary" lang="zh-CN">识别电信诈骗</p>' in english
    assert '<div class="prose" lang="zh-CN"><p>只有中文</p></div>' in english
    chinese = visitor.get(f"/pavilions/{pavilion['slug']}", headers={"Accept-Language": "zh-CN"}).get_data(
        as_text=True)
    assert "<h1>反诈展馆</h1>" in chinese and "不轻信陌生来电" in chinese and "Doubt unknown callers" not in chinese
    hall = visitor.get("/?q=Doubt unknown", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert f'data-pavilion="{pavilion["slug"]}"' in hall and "Anti-fraud pavilion" in hall


def test_english_only_content_shows_to_chinese_visitors(app, api, exhibitor, curator):
    pavilion = _publish(api, exhibitor, curator, name="Campus booth", blocks=[{"kind": "text", "html": "",
                                                                               "html_en": "<p>Only English</p>"}])
    chinese = app.test_client().get(f"/pavilions/{pavilion['slug']}", headers={"Accept-Language": "zh-CN"})
    assert '<div class="prose" lang="en"><p>Only English</p></div>' in chinese.get_data(as_text=True)


def test_the_editor_edits_both_languages(api, client, exhibitor, curator):
    pavilion = create(api, exhibitor, name="双语展馆")
    blocks = [{"kind": "text", "html": "<p>中文</p>"}]
    assert put_draft(api, exhibitor, pavilion["id"], blocks=blocks).status_code == 200
    login(client, exhibitor)
    edit_url = f"/studio/pavilions/{pavilion['id']}"
    form = _editor_form(page(client, edit_url))
    form.update({"op": "save", "name_en": "Bilingual pavilion", "summary_en": "In two languages",
                 "blocks-0-html_en": "<p>English <script>x()</script>text</p>"})
    assert client.post(edit_url, data=form).status_code == 302
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    assert draft["name_en"] == "Bilingual pavilion" and draft["summary_en"] == "In two languages"
    assert draft["blocks"][0]["html_en"] == "<p>English text</p>"  # sanitised like the main text
    html = page(client, edit_url)
    assert 'value="Bilingual pavilion"' in html and "English text" in html
    review = _submit(api, exhibitor, pavilion)
    login(client, curator)
    shown = page(client, f"/review/{review}")  # the curator sees both languages, whatever the interface speaks
    assert '<p lang="en"><strong>Bilingual pavilion</strong> In two languages</p>' in shown
    assert '<div class="prose" lang="zh-CN"><p>中文</p></div>' in shown
    assert '<div class="prose" lang="en"><p>English text</p></div>' in shown
    assert csrf_from(shown)
