"""Every error a person can meet is Jury's own page (its layout, its language, its navigation when
signed in and none of it otherwise); the JSON API keeps answering JSON; the favicon is served."""
from __future__ import annotations

import pytest
from flask import abort, g
from sqlalchemy import select

from jury.web.errors import STATUS_TEXTS
from models import Case, db
from tests.conftest import post_payload, report_payload, sign_in
from tests.jury.web.test_web_unavailable import unreachable_app

STATUSES = (400, 403, 404, 405, 409, 413, 429, 500, 503)
FR = {"Accept-Language": "fr-FR,fr;q=0.9"}
# What the framework's own error pages say: none of it may reach a person.
BARE = ("Werkzeug", "werkzeug", "<title>404 Not Found</title>", "The requested URL was not found on the server",
        "<title>500 Internal Server Error</title>", "The method is not allowed for the requested URL",
        "The browser (or proxy) sent a request that this server could not understand",
        "Traceback")


@pytest.fixture
def raising_app(app):
    """The app with one route that fails with any status, and one that fails unexpectedly (a 500)."""
    app.add_url_rule("/test-fails/<int:status>", "test_fails", lambda status: abort(status))
    app.add_url_rule("/api/v1/test-fails/<int:status>", "test_api_fails", lambda status: abort(status))

    def crash():
        raise RuntimeError("a bug with a secret: hunter2")

    app.add_url_rule("/test-crash", "test_crash", crash)
    app.add_url_rule("/api/v1/test-crash", "test_api_crash", crash)
    app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production: the 500 page, not the exception
    return app


@pytest.fixture
def juliette(make_user):
    """A juror who reads Jury in French (her profile's setting)."""
    user = make_user("juliette")
    user.locale = "fr"
    user.state = "active"
    db.session.commit()
    return user


def signed_in(client, user) -> None:
    """Sign `user` in on the client; forget the user Flask-Login cached on `g` (the test's app
    context outlives each request, and the last request's user with it)."""
    with client.session_transaction() as session:
        sign_in(session, user.id)
    g.pop("_login_user", None)


def assert_own_page(response, status: int, *, signed: bool, french: bool = False) -> str:
    """The app's error page for `status`: layout, language, and navigation only when signed in."""
    page = response.get_data(as_text=True)
    assert response.status_code == status, page[:300]
    assert response.mimetype == "text/html"
    for bare in BARE:
        assert bare not in page, (status, bare)
    assert 'id="error-page"' in page and f'data-status="{status}"' in page
    assert "jury.css" in page and "favicon" in page
    assert ('<html lang="fr">' in page) is french
    if signed:
        assert 'action="/logout"' in page
        assert ">Back to your cases<" in page or ">Retour à vos dossiers<" in page
    else:
        assert 'action="/logout"' not in page
        assert "Back to your cases" not in page and "Retour à vos dossiers" not in page
        assert 'href="/login"' in page
    return page


@pytest.mark.parametrize("status", [s for s in STATUSES if s != 500])
def test_each_status_is_the_apps_own_page_signed_out_and_in(raising_app, client, juliette, make_user, status):
    page = assert_own_page(client.get(f"/test-fails/{status}"), status, signed=False)
    assert str(STATUS_TEXTS[status][0]) in page
    ann = make_user("ann")
    signed_in(client, ann)
    page = assert_own_page(client.get(f"/test-fails/{status}"), status, signed=True)
    assert str(STATUS_TEXTS[status][1]) in page and "ann" in page
    signed_in(client, juliette)
    assert_own_page(client.get(f"/test-fails/{status}"), status, signed=True, french=True)


def test_an_unexpected_error_is_a_500_page_that_leaks_nothing(raising_app, client, juliette):
    page = assert_own_page(client.get("/test-crash"), 500, signed=False)
    assert "hunter2" not in page and "RuntimeError" not in page
    assert "Something went wrong on our side" in page
    signed_in(client, juliette)
    page = assert_own_page(client.get("/test-crash"), 500, signed=True, french=True)
    assert "Une erreur s’est produite de notre côté" in page and "hunter2" not in page


def test_the_api_keeps_answering_json(raising_app, client):
    for status in STATUSES:
        response = client.get(f"/api/v1/test-fails/{status}")
        assert response.status_code == status and response.is_json, status
        assert isinstance(response.get_json()["error"], str)
    crash = client.get("/api/v1/test-crash")
    assert crash.status_code == 500 and "hunter2" not in crash.get_data(as_text=True) and crash.is_json
    unknown = client.get("/api/v1/no-such-endpoint")
    assert unknown.status_code == 404 and unknown.is_json
    wrong_method = client.get("/api/v1/posts")
    assert wrong_method.status_code == 405 and wrong_method.is_json
    assert "POST" in wrong_method.headers["Allow"]


def test_a_juror_opening_a_lead_page_gets_a_403_page_in_french(client, juliette):
    signed_in(client, juliette)
    page = assert_own_page(client.get("/lead/"), 403, signed=True, french=True)
    assert "Cette page ne vous est pas ouverte" in page


def test_an_unknown_url_and_an_unknown_case(client, juliette):
    assert_own_page(client.get("/no/such/page"), 404, signed=False)
    assert_own_page(client.get("/static/no-such-file.css"), 404, signed=False)
    signed_in(client, juliette)
    page = assert_own_page(client.get("/no/such/page"), 404, signed=True, french=True)
    assert "Page introuvable" in page
    page = assert_own_page(client.get("/cases/99999"), 404, signed=True, french=True)
    assert "Ce dossier n’existe pas, ou il ne vous a pas été attribué." in page


def test_a_malformed_query_and_a_wrong_method(client, juliette, lead):
    assert_own_page(client.get("/login?next=%00"), 400, signed=False)
    response = client.get("/cases/next")  # a POST-only address
    assert_own_page(response, 405, signed=False)
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}
    signed_in(client, lead)
    assert_own_page(client.get("/lead/reports?start=not-a-date"), 400, signed=True)
    signed_in(client, juliette)
    assert_own_page(client.get("/cases/next"), 405, signed=True, french=True)


def test_a_form_without_its_csrf_token_says_so(app, client, juliette):
    app.config["WTF_CSRF_ENABLED"] = True
    signed_in(client, juliette)
    page = assert_own_page(client.post("/cases/next"), 400, signed=True, french=True)
    assert "Le formulaire avait expiré" in page


def test_a_body_over_the_form_limit_is_a_413_page(client, juliette):
    signed_in(client, juliette)
    huge = {"decision": "keep", "note": "x" * 600_000}  # over Flask's 500 kB for one form field
    response = client.post("/cases/1/vote", data=huge, content_type="multipart/form-data")
    assert_own_page(response, 413, signed=True, french=True)


def test_too_many_logins_is_a_429_page(client):
    answers = [client.post("/login", data={"username": "nobody", "password": "wrong password"})
               for _ in range(11)]
    assert_own_page(answers[-1], 429, signed=False)


def test_a_second_vote_is_a_409_page_in_french(api, client, juliette):
    api.posts(post_payload("p1", "you are an idiot"))
    api.reports(report_payload("r1", "p1"))
    signed_in(client, juliette)
    client.post("/cases/next")
    case_id = db.session.scalar(select(Case.id))
    assert client.post(f"/cases/{case_id}/vote", data={"decision": "keep"}).status_code == 302
    page = assert_own_page(client.post(f"/cases/{case_id}/vote", data={"decision": "keep"}), 409,
                           signed=True, french=True)
    assert "vous avez déjà voté sur ce dossier" in page


def test_an_over_long_vote_note_is_shown_at_its_field_and_kept(api, client, juliette):
    api.posts(post_payload("p1", "you are an idiot"))
    api.reports(report_payload("r1", "p1"))
    signed_in(client, juliette)
    client.post("/cases/next")
    case_id = db.session.scalar(select(Case.id))
    note = "n" * 2001
    response = client.post(f"/cases/{case_id}/vote", data={"decision": "keep", "note": note})
    page = response.get_data(as_text=True)
    assert response.status_code == 400 and 'id="vote-form"' in page
    assert "Une note fait au plus 2000 caractères." in page and note in page
    as_json = client.post(f"/cases/{case_id}/vote", data={"decision": "keep", "note": note},
                          headers={"Accept": "application/json"})
    assert as_json.status_code == 400 and "2000" in as_json.get_json()["error"]
    assert client.post(f"/cases/{case_id}/vote", data={"decision": "keep", "note": "ok"}).status_code == 302


def test_the_favicon_is_served_and_linked(client):
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype == "image/vnd.microsoft.icon"
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file's header
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and b"<svg" in svg.data
    login = client.get("/login").get_data(as_text=True)
    assert 'rel="icon" href="/static/favicon.svg"' in login and 'href="/favicon.ico"' in login


def test_the_503_page_is_the_apps_own_in_the_browsers_language(tmp_path):
    client = unreachable_app(tmp_path).test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:some-token"  # signed in, but loading the user needs the database
    response = client.get("/cases/1", headers=FR)
    page = response.get_data(as_text=True)
    assert response.status_code == 503 and response.headers["Retry-After"] in ("4", "5")
    assert '<html lang="fr">' in page and "Momentanément indisponible" in page
    assert 'id="error-page"' in page and "jury.css" in page
    assert "Back to your cases" not in page and "Retour à vos dossiers" not in page
