"""Every page a juror sees is wholly in French for a French reader: no message left in English.

The French catalogue is compiled again with each translation wrapped in ⟦…⟧ and the pages are drawn
with it. Whatever text is then outside the brackets did not come through the catalogue (a string
never marked for translation, or marked but missing from the catalogue), unless it is the
juror's own data (a name, the post, a number). A new English word on any of these pages fails here.
"""
from __future__ import annotations

import functools
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
import wtforms.i18n
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import g
from sqlalchemy import select

from jury.extensions import babel
from jury.jurors import guide, manage
from models import Case, Score, Verdict, db
from tests.conftest import ROOT, Api, make_app, post_payload, report_payload, sign_in

OPEN, CLOSE = "⟦", "⟧"
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
# Shown as they are in every language: the brand, the language names in the language picker, the clock's zone.
NOT_TRANSLATED = {"Jury", "English", "Français", "UTC"}
# Attributes a person reads or hears (the session timer's label and unit are drawn by the page's script).
READ_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "data-label", "data-unit"}
POST = "Tu es un idiot fini."
COMMENT = "il insulte tout le monde"
AUTHOR = "author-p1"


def wrapped_catalogue(directory: Path) -> Path:
    """The French catalogue with every translation in brackets, compiled under `directory`."""
    with open(Path(ROOT, "translations", "fr", "LC_MESSAGES", "messages.po"), "rb") as handle:
        catalog = read_po(handle, locale="fr")
    for message in catalog:
        if not message.id:
            continue
        if isinstance(message.id, tuple):
            message.string = tuple(f"{OPEN}{form}{CLOSE}" for form in message.string)
        else:
            message.string = f"{OPEN}{message.string}{CLOSE}"
    target = directory / "fr" / "LC_MESSAGES"
    target.mkdir(parents=True)
    with open(target / "messages.mo", "wb") as handle:
        write_mo(handle, catalog)
    return directory


class ReadableText(HTMLParser):
    """The text a person reads on a page: text nodes (not scripts or styles) and the attributes read aloud."""

    def __init__(self):
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            if value and (name in READ_ATTRIBUTES or (tag == "input" and name == "value"
                                                      and dict(attrs).get("type") == "submit")):
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


@functools.cache
def wtforms_french() -> re.Pattern:
    """WTForms' own French messages (a field's length, a missing value), from its own catalogue."""
    with open(Path(wtforms.i18n.messages_path(), "fr", "LC_MESSAGES", "wtforms.po"), "rb") as handle:
        catalog = read_po(handle, locale="fr")
    strings = [form for message in catalog if message.id
               for form in (message.string if isinstance(message.string, tuple) else (message.string,)) if form]
    patterns = [re.sub(r"%\\\(\w+\\\)[sd]", r"\\S+", re.escape(text)) for text in strings]
    return re.compile("|".join(sorted(patterns, key=len, reverse=True)))


def untranslated(page: str, data: tuple[str, ...]) -> list[str]:
    """The words of `page` that came neither through the catalogues nor from `data`."""
    reader = ReadableText()
    reader.feed(page)
    text = " ".join(reader.parts)
    inner = re.compile(f"{OPEN}[^{OPEN}{CLOSE}]*{CLOSE}")
    while inner.search(text):  # a translation may hold another (a state inside "état : …")
        text = inner.sub(" ", text)
    text = wtforms_french().sub(" ", text)
    for value in sorted(data, key=len, reverse=True):
        text = text.replace(value, " ")
    return [word for word in re.findall(r"[^\W\d_]{2,}", text) if word not in NOT_TRANSLATED]


def forget_translations() -> None:
    babel.domain_instance.cache.clear()
    guide._guides_in.cache_clear()


@pytest.fixture
def wrapped_app(backend, tmp_path, request):
    app = make_app(backend, tmp_path, request,
                   BABEL_TRANSLATION_DIRECTORIES=str(wrapped_catalogue(tmp_path / "translations")))
    # Flask-Babel caches catalogues in its one extension object, across apps, and the guide its rule
    # texts per language: empty both on the way in (the real French may be there) and on the way out
    # (the bracketed one must not outlive this test).
    with app.app_context():
        forget_translations()
        yield app
        forget_translations()
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def wclient(wrapped_app):
    return wrapped_app.test_client()


def french_juror(username: str, state: str = "active", reason: str | None = None):
    from jury.jurors import users

    user = users.create_user(username, "correct horse battery", "juror", languages=["fr", "en"])
    user.locale, user.state, user.state_reason = "fr", state, reason
    db.session.commit()
    return user


def as_user(client, user) -> None:
    with client.session_transaction() as session:
        sign_in(session, user.id)
    g.pop("_login_user", None)  # the test's app context outlives requests, and Flask-Login's cache with it


def assert_french(response, *data: str, status: int = 200) -> str:
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:500]
    assert '<html lang="fr">' in page
    assert untranslated(page, data) == [], page
    return page


def test_the_check_catches_an_english_word():
    assert untranslated(f"<p>{OPEN}Bonjour{CLOSE} ann</p>", ("ann",)) == []
    assert untranslated(f"<p>{OPEN}Bonjour{CLOSE} Next case</p>", ()) == ["Next", "case"]
    assert untranslated(f'<button aria-label="Close">{OPEN}x{CLOSE}</button>', ()) == ["Close"]
    assert untranslated("<script>var english = 1;</script>", ()) == []


def test_the_pages_before_signing_in(wrapped_app, wclient, make_user):
    assert_french(wclient.get("/login", headers=FR))
    lead = make_user("lea", role="lead")
    _, token = manage.create_invite(wrapped_app.config["SECRET_KEY"], note="", days=3, actor_id=lead.id)
    assert_french(wclient.get(f"/join/{token}", headers=FR))
    refused = wclient.post(f"/join/{token}", data={"username": "x", "password": "short", "confirm": "other"},
                           headers=FR)
    assert_french(refused)
    assert_french(wclient.get("/no/such/page", headers=FR), status=404)
    assert_french(wclient.get("/cases/next", headers=FR), status=405)
    bad_login = wclient.post("/login", data={"username": "nobody", "password": "wrong password"}, headers=FR)
    assert_french(bad_login, status=401)
    assert_french(wclient.get("/profile", headers=FR, follow_redirects=True))  # "please log in" flashed


def test_home_guide_profile_and_errors(wclient):
    juliette = french_juror("juliette")
    as_user(wclient, juliette)
    assert_french(wclient.get("/"), "juliette")
    assert_french(wclient.get("/guide"), "juliette")
    assert_french(wclient.get("/profile"), "juliette")
    wrong = wclient.post("/profile/password", data={"current_password": "not it at all",
                                                    "new_password": "another long one", "repeat_password": "x"})
    assert_french(wrong, "juliette", status=400)
    assert_french(wclient.post("/cases/next", follow_redirects=True), "juliette")  # no case needs you
    assert_french(wclient.get("/lead/"), "juliette", status=403)
    assert_french(wclient.get("/cases/12345"), "juliette", status=404)


def test_home_in_training_and_paused(wclient):
    trainee = french_juror("paul", state="probation")
    as_user(wclient, trainee)
    assert_french(wclient.get("/"), "paul")
    paused = french_juror("pauline", state="paused", reason="trop de désaccords")
    as_user(wclient, paused)
    assert_french(wclient.get("/"), "pauline", "trop de désaccords")


def test_the_case_page_while_voting_and_after_the_verdict(wclient):
    api = Api(wclient)
    # Three reports, one with a comment; a high model score blurs the post.
    api.posts(post_payload("p1", POST, author=AUTHOR, lang="fr"))
    api.reports(report_payload("r1", "p1", reason="harassment", comment=COMMENT),
                report_payload("r2", "p1", reporter="reporter-2", reason="hate"),
                report_payload("r3", "p1", reporter="reporter-3", reason="violence_threat"))
    case_id = db.session.scalar(select(Case.id))
    model = db.session.scalar(select(Score.model_name))
    version = db.session.scalar(select(Score.model_version))
    data = ("juliette", POST, AUTHOR, COMMENT, "fr", f"{model}:{version}")
    jurors = [french_juror(name) for name in ("juliette", "jules", "jeanne")]
    as_user(wclient, jurors[0])
    wclient.post("/cases/next")
    assert_french(wclient.get(f"/cases/{case_id}"), *data)
    refused = wclient.post(f"/cases/{case_id}/vote", data={"decision": "remove", "rule": "harassment",
                                                           "note": "n" * 2001})
    assert_french(refused, *data, "n" * 2001, status=400)
    assert_french(wclient.post(f"/cases/{case_id}/vote", data={"decision": "remove"}), *data, status=400)
    for juror in jurors:
        as_user(wclient, juror)
        wclient.post("/cases/next")
        assert wclient.post(f"/cases/{case_id}/vote",
                            data={"decision": "remove", "rule": "harassment"}).status_code == 302
        if juror is jurors[0]:  # voted, the panel still open: her seat is closed, the votes hidden
            assert_french(wclient.get(f"/cases/{case_id}"), *data)
    assert db.session.get(Case, case_id).state in ("decided", "actioned")
    # The statement of reasons is the verdict's record, written once in English for the network and
    # the author (see jury.panels.verdicts): data here, marked lang="en" on the page.
    statement = db.session.scalar(select(Verdict.statement).where(Verdict.case_id == case_id))
    page = assert_french(wclient.get(f"/cases/{case_id}"), *data, "jeanne", statement)
    assert '<p lang="en">' in page
    assert_french(wclient.get("/"), "jeanne")  # the figures' sentence, with plurals
    again = wclient.post(f"/cases/{case_id}/vote", data={"decision": "keep"})
    assert_french(again, "jeanne", status=409)
