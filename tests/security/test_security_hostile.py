"""Posts written by attackers go through the real intake API and render inert on every page that shows them."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select, update

from jury.demo import sandbox_network as sandbox
from jury.panels import voting
from models import Action, Case, Post, Report, db
from tests.conftest import post_payload, report_payload, signed
from tests.security.htmlscan import scan_html
from triage import dealing

CORPUS = [
    '<script>alert("x")</script>',
    "<img src=x onerror=alert(1)>",
    '<a href="javascript:alert(1)">click</a>',
    '"><svg onload=alert(1)>',
    "'><iframe src=javascript:alert(1)></iframe>",
    "<style>body{display:none}</style>",
    "</textarea></div><script src=https://evil.example/x.js></script>",
    '<b onmouseover="alert(1)">bold</b> &amp; &lt;',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    "{{ 7*7 }} {% if true %}ssti{% endif %}",
    "javascript:alert(document.cookie)",
    "\u202egnp.exe\u202c is a picture",  # RTL override: reads as "exe.png"
    "kil\u200bl yo\u2060u \ufeffnow \u2066isolated\u2069",  # zero-width and isolate controls
    "\u0430pple \u0440aypal g\u043e\u043egle",  # Cyrillic homoglyphs
    "NUL\x00byte",
]
TEXT = "\n".join(CORPUS)
HOSTILE_AUTHOR = "<img src=x onerror=alert(1)>"
HOSTILE_URL = 'https://example.com/"><script>alert(1)</script>?q=<x>'
HOSTILE_NOTE = '<script>note()</script><img src=y onerror=alert(2)>'
HIDDEN = ("\u202e", "\u202c", "\u200b", "\u2060", "\ufeff", "\u2066", "\u2069")


def assert_inert(page: str, where: str, shows_text: bool = True) -> str:
    """No element, attribute or script came from user text; returns the page's visible text."""
    scan = scan_html(page)
    assert scan.problems == [], f"{where}: {scan.problems}"
    assert [s for s in scan.scripts] == ["/static/jury.js"], where
    for char in HIDDEN:
        assert char not in page, f"{where}: invisible U+{ord(char):04X} reached the page"
    assert not shows_text or "{{ 7*7 }}" in scan.text, f"{where}: template syntax in user text was evaluated or lost"
    return scan.text


def ingest_hostile_case(api) -> int:
    """One reported post made of the whole corpus, through the signed API; returns its case id."""
    response = api.posts(post_payload("p-hostile", TEXT, author=HOSTILE_AUTHOR, url=HOSTILE_URL))
    assert response.status_code == 202, response.get_json()
    response = api.reports(report_payload("r-hostile", "p-hostile", reporter="<svg onload=x>", comment=TEXT[:2000]))
    assert response.status_code == 202, response.get_json()
    return db.session.scalar(select(Case.id))


def test_hostile_post_is_inert_on_every_page_that_shows_it(app, client, auth, api, make_user):
    case_id = ingest_hostile_case(api)
    stored = db.session.scalar(select(Post.text))
    assert stored == TEXT.replace("\x00", "\ufffd")  # kept exactly, except NUL which no database holds
    juror = make_user("ann")
    make_user("boss", role="lead")
    assert dealing.deal_next(juror).case_id == case_id
    voting.cast_vote(case_id, juror, "remove", "harassment", HOSTILE_NOTE)
    # A dead action whose error text came back from a hostile network.
    db.session.add(Action(case_id=case_id, type="remove_post", idempotency_key="k-hostile", state="dead",
                          post_external_id="p-hostile", last_error=TEXT[:500], statement=TEXT[:500]))
    db.session.commit()

    auth.login("ann")
    case_page = client.get(f"/cases/{case_id}")
    assert case_page.status_code == 200
    text = assert_inert(case_page.get_data(as_text=True), "juror case page")
    assert '<script>alert("x")</script>' in text and "<img src=x onerror=alert(1)>" in text  # shown as text
    assert "[U+202E]gnp.exe[U+202C]" in text and "kil[U+200B]l" in text
    assert "\u0430pple" in text  # homoglyphs are shown as sent: jurors judge what readers saw
    auth.logout()

    auth.login("boss")
    db.session.execute(update(Case).values(state="escalated"))
    db.session.commit()
    for path, shows_text in ((f"/lead/cases/{case_id}/decide", True), (f"/cases/{case_id}", True),
                             ("/lead/", False), ("/lead/escalations", False), ("/lead/actions", False)):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_inert(response.get_data(as_text=True), path, shows_text)
    decide = scan_html(client.get(f"/lead/cases/{case_id}/decide").get_data(as_text=True)).text
    assert HOSTILE_NOTE in decide and "[U+202E]gnp.exe" in decide
    assert "<style>body{display:none}</style>" in scan_html(client.get("/lead/actions").get_data(as_text=True)).text


def test_hostile_posts_are_inert_on_the_sandbox_network(app, client):
    # Sandbox posts are the stand-in network's own demo data (NUL excluded: its seeding does not clean it).
    corpus = [text for text in CORPUS if "\x00" not in text]
    sandbox.add_posts([{"id": f"s{i}", "author_id": HOSTILE_AUTHOR, "text": text} for i, text in enumerate(corpus)])
    # The statement of reasons arrives through the sandbox's signed webhook.
    body, headers = signed({"action_id": "a1", "type": "remove_post", "post_id": "s1",
                            "statement_of_reasons": "\n".join(corpus)}, secret=app.config["NETWORK_WEBHOOK_SECRET"])
    assert client.post("/sandbox/moderation/actions", data=body, headers=headers).status_code == 200
    page = client.get("/sandbox/").get_data(as_text=True)
    text = assert_inert(page, "sandbox")
    assert "<img src=x onerror=alert(1)>" in text and "[U+202E]gnp.exe" in text


@pytest.mark.parametrize("url", ["javascript:alert(1)", "JaVaScRiPt:alert(1)", " javascript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "vbscript:x", "//evil.example/",
                                 "https://x.example/\x00", "https://x.example/a b", "https://x.example/\n"])
def test_script_links_are_refused_at_intake(api, url):
    response = api.posts(post_payload("p1", "hello", url=url))
    assert response.status_code == 400 and response.get_json()["field"] == "posts[0].url"
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_a_one_megabyte_post_is_refused_and_stores_nothing(app, api):
    text = "A" * (1024 * 1024)
    response = api.posts(post_payload("p1", text))
    assert response.status_code in (400, 413)
    assert response.get_json()["field"] == "posts[0].text"
    response = api.reports(report_payload("r1", "p1", comment=text, post=post_payload("p1", "short")))
    assert response.status_code in (400, 413) and response.get_json()["field"] == "reports[0].comment"
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_a_body_over_the_byte_cap_is_413(app, api):
    many = [post_payload(f"p{i}", "x" * 19_000) for i in range(300)]  # ~5.7 MB of valid posts
    response = api.posts(*many)
    assert response.status_code == 413
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0


@pytest.mark.parametrize("raw", [
    b'{"posts": [{"id": "p1", "author_id": "a", "text": "caf\xe9"}]}',  # Latin-1, not UTF-8
    b'{"posts": [{"id": "p1", "author_id": "a", "text": "\xff\xfe"}]}',
    b'{"posts": [{"id": "p1", "author_id": "a", "text": "\xed\xa0\x80"}]}',  # an encoded surrogate
    b"\xef\xbb\xbf" + b'{"posts": []}',  # a byte-order mark before the JSON
])
def test_invalid_utf8_is_400(client, raw):
    body, headers = signed(raw)
    response = client.post("/api/v1/posts", data=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert response.get_json()["field"] == "body"


@pytest.mark.parametrize("escaped", ["\\ud800", "\\udfff", "a\\ud83dz"])
def test_lone_surrogates_in_json_escapes_are_400_not_500(client, escaped):
    raw = ('{"posts": [{"id": "p1", "author_id": "a", "text": "x' + escaped + '"}]}').encode()
    body, headers = signed(raw)
    response = client.post("/api/v1/posts", data=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Post)) == 0


def test_control_characters_in_ids_are_refused(api):
    for bad in ("p\x00", "p\u0007", "p\n1"):
        response = api.posts(post_payload(bad, "hello"))
        assert response.status_code == 400 and response.get_json()["field"] == "posts[0].id", json.dumps(bad)


@pytest.mark.parametrize("field", ["comment", "reporter_id", "id"])
def test_lone_surrogates_in_report_fields_are_400_not_500(client, field):
    report = {"id": "r1", "post_id": "p1", "reporter_id": "u1", "reason": "spam", "comment": "ok",
              "post": {"id": "p1", "author_id": "a", "text": "hi"}}
    report[field] = "x\ud800"
    body, headers = signed(json.dumps({"reports": [report]}).encode())  # ensure_ascii writes \\ud800
    response = client.post("/api/v1/reports", data=body, headers=headers)
    assert response.status_code == 400, response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Report)) == 0


def test_nul_in_a_form_field_is_400_not_500(client, auth, api, make_user):
    api.posts(post_payload("p1", "you idiot"))
    api.reports(report_payload("r1", "p1"))
    juror = make_user("ann")
    case_id = dealing.deal_next(juror).case_id
    form = "application/x-www-form-urlencoded"
    assert client.post("/login", data=b"username=a%00&password=whatever-at-all", content_type=form).status_code == 400
    assert client.get("/login?next=/%00").status_code == 400
    auth.login("ann")
    vote = client.post(f"/cases/{case_id}/vote", data=b"decision=keep&note=a%00b", content_type=form)
    assert vote.status_code == 400
    ok = client.post(f"/cases/{case_id}/vote", data=b"decision=keep&note=a%ffb", content_type=form)
    assert ok.status_code == 302  # invalid UTF-8 in a form is replaced, not a failure
