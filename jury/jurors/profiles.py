"""A juror's own settings: interface language, reading languages and content opt-outs."""
from __future__ import annotations

import audit
from models import LOCALES, User, db
from models.errors import DomainError
from models.rules import RULE_CODES
from triage import transaction


def update_profile(user: User, *, locale: str | None, languages: list[str], opted_out: list[str]) -> None:
    """Store the settings with an audit event; unknown codes are refused. Commits."""
    if locale is not None and locale not in LOCALES:
        raise DomainError(f"interface language must be one of {', '.join(LOCALES)}")
    unknown = [code for code in opted_out if code not in RULE_CODES]
    if unknown:
        raise DomainError("unknown content category")
    if not languages or len(languages) > 10:
        raise DomainError("give one to ten reading languages")
    with transaction.atomic():
        user.locale = locale
        user.languages = list(languages)
        user.opted_out_categories = sorted(set(opted_out))
        audit.record(db.session, "profile_updated", "user", user.id,
                     {"locale": locale, "languages": user.languages, "opted_out": user.opted_out_categories},
                     actor=f"user:{user.id}")
