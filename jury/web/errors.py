"""Every error a person can meet is the app's own page; the JSON API under /api/ answers JSON.

One page (templates/error.html) for every status, in the app's layout and the reader's language,
with the navigation when signed in and none of it otherwise. The API keeps its contract: a JSON
body {"error": ...} with the status (and the status's headers, such as Allow on a 405).
"""
from __future__ import annotations

import logging

from flask import Flask, current_app, jsonify, render_template, request, send_from_directory
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from flask_login import AnonymousUserMixin
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from models import LOCALES
from models.errors import NO_SUCH_CASE, DomainError

log = logging.getLogger(__name__)

# What each status means to a person: a heading and one sentence saying what to do next.
STATUS_TEXTS = {
    400: (_l("This request could not be understood"),
          _l("Something in the address or in the form was not valid. Go back, check it and try again.")),
    403: (_l("This page is not open to you"),
          _l("Your account cannot open this page. If you think it should, ask a lead.")),
    404: (_l("Page not found"),
          _l("There is no page at this address. The link may be mistyped, or what it pointed to is gone.")),
    405: (_l("This page cannot be used that way"),
          _l("The page exists, but not for this kind of request. Go back and use its own buttons and links.")),
    409: (_l("Things moved on in the meantime"),
          _l("Someone or something changed this in the meantime. Reload the page to see where it stands.")),
    413: (_l("What you sent is too large"),
          _l("What you sent is over the size this page accepts. Shorten it and try again.")),
    429: (_l("Too many requests"),
          _l("Too many requests in a short time. Wait a minute, then try again.")),
    500: (_l("Something went wrong on our side"),
          _l("An unexpected error stopped this page. It is logged; please try again in a moment.")),
    503: (_l("Temporarily unavailable"),
          _l("Jury cannot reach its database right now. Nothing you sent was half-saved: "
             "please try again in a few seconds.")),
}
FALLBACK_TEXTS = (_l("This request could not be completed"), _l("Go back and try again."))
CSRF_MESSAGE = _l("The form had expired or came from another page. Go back, reload it and try again.")
# The domain's messages that jurors meet (models.errors, jury.panels.voting, jury.jurors), marked
# here so that a juror reading French reads them in French. Any other message is shown as written.
_DOMAIN_MESSAGES = {message: translated for message, translated in (
    (NO_SUCH_CASE, _l("No such case, or it was not dealt to you.")),
    ("a removal needs one of the rules", _l("a removal needs one of the rules")),
    ("decision must be 'remove' or 'keep'", _l("decision must be 'remove' or 'keep'")),
    ("you do not hold a seat on this case", _l("you do not hold a seat on this case")),
    ("you do not hold a live seat on this case", _l("you do not hold a live seat on this case")),
    ("you already voted on this case", _l("you already voted on this case")),
    ("this case has already been decided", _l("this case has already been decided")),
    ("your time on this case ran out and the seat went to another juror",
     _l("your time on this case ran out and the seat went to another juror")),
    ("the current password is not right", _l("the current password is not right")),
    ("the two new passwords differ", _l("the two new passwords differ")),
    ("the new password must differ from the current one", _l("the new password must differ from the current one")),
    ("this invitation has expired", _l("this invitation has expired")),
    ("this invitation link is not valid", _l("this invitation link is not valid")),
    ("this invitation was already used", _l("this invitation was already used")),
)}


def register(app: Flask) -> None:
    """Install the error pages for every HTTP error and domain error, and the favicon."""
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    # An unexpected exception reaches Flask's 500 handler (never in debug or testing mode, which re-raise).
    app.register_error_handler(InternalServerError, _internal_error)
    app.add_url_rule("/favicon.ico", "favicon", _favicon)


def wants_api_error() -> bool:
    """The JSON API answers JSON, whatever went wrong."""
    return request.path.startswith("/api/")


def error_page(status: int, message: str | None = None, headers=None):
    """The app's page for `status`: its heading, `message` or the status's own sentence, and a way on."""
    title, default = STATUS_TEXTS.get(status, FALLBACK_TEXTS)
    page = render_template("error.html", status=status, title=title, message=message or default)
    return page, status, dict(headers or {})


def offline_error_page(status: int, message: str | None = None, headers=None):
    """The same page drawn without the database: no user is loaded, so no navigation, and the
    language comes from the browser alone (the profile's setting would need the database)."""
    locale = request.accept_languages.best_match(LOCALES) or "en"
    with force_locale(locale):
        title, default = STATUS_TEXTS.get(status, FALLBACK_TEXTS)
        # Rendered without context processors: Flask-Login's would load the user from the database.
        page = current_app.jinja_env.get_template("error.html").render(
            status=status, title=str(title), message=str(message or default), current_user=AnonymousUserMixin(),
            get_locale=lambda: locale)
    return page, status, dict(headers or {})


def _custom_description(error: HTTPException) -> str | None:
    """The reason a view gave with abort(status, reason); None for Werkzeug's stock sentence."""
    if isinstance(error, CSRFError):
        return str(CSRF_MESSAGE)
    stock = type(error).description
    return error.description if error.description and error.description != stock else None


def _status_headers(error: HTTPException) -> dict[str, str]:
    """The headers that belong to the status (Allow on 405, Retry-After where set), not the body's."""
    return {key: value for key, value in error.get_headers() if key.lower() != "content-type"}


def _http_error(error: HTTPException):
    """Any HTTP error raised by Flask, Werkzeug or a view's abort()."""
    if error.code is None or error.code < 400:
        return error
    headers = _status_headers(error)
    if wants_api_error():
        return jsonify({"error": error.description or STATUS_TEXTS.get(error.code, FALLBACK_TEXTS)[0]}), \
            error.code, headers
    return error_page(error.code, _custom_description(error), headers)


def domain_message(error: DomainError) -> str:
    """The domain error's message for a page: in the reader's language where the catalogue has it."""
    message = str(error)
    translated = _DOMAIN_MESSAGES.get(message)
    return str(translated) if translated is not None else message


def _domain_error(error: DomainError):
    """Domain errors become their HTTP status, as JSON for the API (in English, as written) and a page otherwise."""
    if wants_api_error():
        return jsonify({"error": str(error)}), error.status_code
    return error_page(error.status_code, domain_message(error))


def _internal_error(error: InternalServerError):
    """500: the page, drawn without the database if the full page cannot be drawn."""
    if wants_api_error():
        return jsonify({"error": "internal error; it is logged, please retry later"}), 500
    try:
        return error_page(500)
    except Exception:  # noqa: BLE001 - the page must come out even when the database or a template fails
        log.exception("the error page itself failed; drawing it without the database")
        return offline_error_page(500)


def _favicon():
    """Browsers ask for /favicon.ico whatever the page says; the file is under static/."""
    return send_from_directory(current_app.static_folder, "favicon.ico", mimetype="image/vnd.microsoft.icon",
                               max_age=7 * 24 * 3600)

