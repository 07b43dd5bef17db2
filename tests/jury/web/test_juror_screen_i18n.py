"""The juror's screen: French and English, the profile, the guide, and the next case as JSON."""
from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from models import AuditEvent, Case, Post, User, db
from tests.conftest import ROOT, post_payload, report_payload

FR = {"Accept-Language": "fr-FR,fr;q=0.9,en;q=0.5"}
EN = {"Accept-Language": "en-GB,en;q=0.9"}
HOSTILE = '<img src=x onerror="alert(1)"><script>alert(2)</script>'


@pytest.fixture
def ann(make_user):
    user = make_user("ann", network_account_id="net-ann")
    user.state = "active"
    db.session.commit()
    return user


def open_case(api, pid, text="you are an idiot"):
    api.posts(post_payload(pid, text, author=f"author-{pid}", lang="en"))
    api.reports(report_payload(f"r-{pid}", pid, reporter=f"rep-{pid}"))
    return db.session.scalar(select(Case.id).join(Post, Post.id == Case.post_id).where(Post.external_id == pid))


def test_the_browser_language_picks_french(client, ann, auth):
    assert "Se connecter" in client.get("/login", headers=FR).get_data(as_text=True)
    assert "Log in" in client.get("/login", headers=EN).get_data(as_text=True)
    auth.login("ann")
    home = client.get("/", headers=FR).get_data(as_text=True)
    assert '<html lang="fr">' in home
    assert "Bonjour, ann" in home and "Dossier suivant" in home and "Vos chiffres" in home
    assert "Next case" not in home
    # Unsupported languages fall back to English.
    assert "Hello, ann" in client.get("/", headers={"Accept-Language": "de"}).get_data(as_text=True)


def test_the_profile_setting_beats_the_browser(client, ann, auth):
    auth.login("ann")
    response = client.post("/profile", data={"locale": "fr", "languages": "en, fr"}, headers=EN,
                           follow_redirects=True)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and "Vos réglages sont enregistrés." in page
    assert "Bonjour, ann" in client.get("/", headers=EN).get_data(as_text=True)
    db.session.expire_all()
    user = db.session.get(User, ann.id)
    assert user.locale == "fr" and user.languages == ["en", "fr"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.event_type == "profile_updated"))
    assert event.payload["locale"] == "fr"
    # Back to "as my browser asks".
    client.post("/profile", data={"locale": "", "languages": "en"}, headers=FR)
    assert "Hello, ann" in client.get("/", headers=EN).get_data(as_text=True)


def test_the_case_page_and_the_flash_are_in_french(api, client, ann, auth):
    case_id = open_case(api, "p1")
    auth.login("ann")
    client.post("/profile", data={"locale": "fr", "languages": "en"})
    client.post("/cases/next")
    page = client.get(f"/cases/{case_id}").get_data(as_text=True)
    for text in (f"Dossier {case_id}", "Révéler la publication", "Retirer", "Garder", "Passer",
                 "Harcèlement", "1 signalement"):
        assert text in page, text
    done = client.post(f"/cases/{case_id}/vote", data={"decision": "keep"}, follow_redirects=True)
    assert "Vote enregistré. Merci." in done.get_data(as_text=True)


def test_the_guide_lists_every_rule_with_its_key_and_examples(client, ann, auth):
    auth.login("ann")
    page = client.get("/guide", headers=FR).get_data(as_text=True)
    assert page.count('class="card rule-guide"') == 8
    assert "<kbd>1</kbd> Violence ou menaces" in page and "<kbd>8</kbd> Autre règle" in page
    assert "L’enfreint" in page and "Ne l’enfreint pas" in page
    english = client.get("/guide", headers=EN).get_data(as_text=True)
    assert "<kbd>2</kbd> Hate" in english and "Breaks it" in english


@pytest.mark.parametrize("data", [
    {"locale": "xx", "languages": "en"},
    {"locale": "", "languages": "en, <script>"},
    {"locale": "", "languages": ""},
    {"locale": "", "languages": ",".join(["en"] * 30)},
    {"locale": "", "languages": "en", "opted_out": "not-a-rule"},
])
def test_bad_profile_input_is_refused(client, ann, auth, data):
    auth.login("ann")
    response = client.post("/profile", data=data)
    assert response.status_code == 400
    db.session.expire_all()
    user = db.session.get(User, ann.id)
    assert user.locale is None and user.languages == ["en"] and user.opted_out_categories == []


def test_the_profile_form_needs_its_csrf_token(app, client, ann, auth):
    auth.login("ann")
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/profile", data={"locale": "fr", "languages": "en"}).status_code == 400
    db.session.expire_all()
    assert db.session.get(User, ann.id).locale is None


def test_opting_out_from_the_profile_is_stored(client, ann, auth):
    auth.login("ann")
    client.post("/profile", data={"locale": "", "languages": "en", "opted_out": ["self_harm", "sexual"]})
    db.session.expire_all()
    assert db.session.get(User, ann.id).opted_out_categories == ["self_harm", "sexual"]
    page = client.get("/profile").get_data(as_text=True)
    assert 'value="self_harm" checked' in page and 'value="hate" checked' not in page


def test_a_vote_asked_as_json_returns_the_next_case_escaped(api, client, ann, auth):
    first = open_case(api, "p1")
    second = open_case(api, "p2", text=HOSTILE)
    auth.login("ann")
    client.post("/cases/next")
    dealt = db.session.scalar(select(Case.id).where(Case.state == "in_review"))
    other = second if dealt == first else first
    response = client.post(f"/cases/{dealt}/vote", data={"decision": "keep"},
                           headers={"Accept": "application/json"})
    assert response.status_code == 200 and response.is_json
    data = response.get_json()
    assert data["case_id"] == other and data["url"] == f"/cases/{other}"
    assert data["message"] == "Vote recorded. Thank you."
    assert 'id="vote-form"' in data["html"] and "<html" not in data["html"]
    if other == second:
        assert "<script>" not in data["html"] and "&lt;script&gt;" in data["html"]
    # The last case: the answer says go home (where the message is flashed).
    last = client.post(f"/cases/{other}/skip", headers={"Accept": "application/json"}).get_json()
    assert last == {"message": "Skipped. The case goes to another juror.", "case_id": None, "url": "/"}
    assert "Skipped. The case goes to another juror." in client.get("/").get_data(as_text=True)


def test_a_plain_form_vote_still_redirects_home(api, client, ann, auth):
    case_id = open_case(api, "p1")
    auth.login("ann")
    client.post("/cases/next")
    response = client.post(f"/cases/{case_id}/vote", data={"decision": "remove", "rule": "harassment"})
    assert response.status_code == 302 and response.headers["Location"] == "/"


def test_home_shows_the_jurors_own_figures(api, client, ann, auth):
    auth.login("ann")
    page = client.get("/").get_data(as_text=True)
    assert 'id="stat-votes">0<' in page and 'id="stat-gold">—<' in page
    assert 'aria-keyshortcuts="N"' in page and "<kbd>N</kbd>" in page
    assert 'id="session-timer"' in page and 'data-break-minutes="50"' in page


def _flat(value):
    """Plural ids and strings come back as lists from a .mo and tuples from a .po."""
    return tuple(value) if isinstance(value, (list, tuple)) else value


def test_every_french_message_is_translated_and_the_mo_is_up_to_date():
    directory = Path(ROOT, "translations", "fr", "LC_MESSAGES")
    with open(directory / "messages.po", "rb") as handle:
        catalog = read_po(handle, locale="fr")
    with open(directory / "messages.mo", "rb") as handle:
        compiled = read_mo(handle)
    untranslated = [m.id for m in catalog if m.id and not (all(m.string) if isinstance(m.id, tuple) else m.string)]
    assert untranslated == []
    assert {_flat(m.id): _flat(m.string) for m in catalog if m.id} == \
        {_flat(m.id): _flat(m.string) for m in compiled if m.id}, \
        "run `make translations` and commit the .mo"
