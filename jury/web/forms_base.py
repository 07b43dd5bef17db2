"""The base of every form: Flask-WTF's CSRF, with WTForms' own messages translated at no cost per request."""
from __future__ import annotations

import threading

from babel import support
from flask_babel import get_locale
from flask_wtf import FlaskForm
from wtforms.i18n import messages_path

_catalogs: dict[str, support.Translations] = {}
_lock = threading.Lock()


def wtforms_translations() -> support.Translations:
    """WTForms' built-in messages ("This field is required.") in the request's language.

    Flask-WTF reads this catalog from disk for every request that builds a form; it never
    changes while the process runs, so it is read once per language.
    """
    locale = str(get_locale() or "en")
    catalog = _catalogs.get(locale)
    if catalog is None:
        with _lock:
            catalog = _catalogs.get(locale)
            if catalog is None:
                catalog = support.Translations.load(messages_path(), [locale], domain="wtforms")
                _catalogs[locale] = catalog
    return catalog


class JuryForm(FlaskForm):
    """A FlaskForm whose WTForms messages come from the per-process catalog."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            """WTForms asks for its translations here (once per form)."""
            return wtforms_translations()
