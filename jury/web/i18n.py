"""The interface language: the juror's profile setting, else the browser's Accept-Language."""
from __future__ import annotations

from flask import request
from flask_login import current_user

from models import LOCALES

DEFAULT_LOCALE = "en"


def select_locale() -> str:
    """Flask-Babel's locale selector."""
    chosen = getattr(current_user, "locale", None) if current_user and current_user.is_authenticated else None
    if chosen in LOCALES:
        return chosen
    return request.accept_languages.best_match(LOCALES) or DEFAULT_LOCALE
