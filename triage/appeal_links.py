"""Signed, expiring links that let an author appeal a decision without an account."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer
from sqlalchemy import select

from models import Verdict, db
from models.errors import DomainError

SALT = "jury-appeal-link"
# DSA Art. 20(1): complaints open for at least six months after the decision.
APPEAL_WINDOW_MONTHS = 6
# The redress beyond Jury's own appeal (DSA Art. 17(3)(f)), told with every final decision.
REDRESS = ("If you disagree, you may turn to an out-of-court dispute settlement body certified under "
           "Article 21 of the EU Digital Services Act, or to the courts.")


class LinkError(DomainError):
    """An appeal link that cannot be used; the message says why, for the author."""


class LinkInvalid(LinkError):
    """Altered, truncated or signed with another key."""

    status_code = 400


class LinkExpired(LinkError):
    """Past the appeal window."""

    status_code = 410


def add_months(moment: datetime, months: int) -> datetime:
    """The same day and time `months` later (clamped to the month's last day)."""
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    for day in range(moment.day, 27, -1):
        try:
            return moment.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    return moment.replace(year=year, month=month, day=min(moment.day, 28))


def appeal_deadline(decided_at: datetime) -> datetime:
    """The last moment an appeal against a decision taken at `decided_at` is accepted."""
    return add_months(decided_at, APPEAL_WINDOW_MONTHS)


def _serializer(issued_at: float | None = None) -> URLSafeTimedSerializer:
    """Flask's own signing scheme (itsdangerous), with a salt of its own and SECRET_KEY."""
    signer = TimestampSigner
    if issued_at is not None:
        class _At(TimestampSigner):
            def get_timestamp(self) -> int:
                return int(issued_at)

        signer = _At
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=SALT, signer=signer)


def make_token(verdict_id: int, issued_at: float | None = None, ref: str | None = None) -> str:
    """A signed token naming the verdict by its opaque reference (the author's identity never travels
    in the link, nor a sequential id); a verdict without a reference is named by its id."""
    return _serializer(issued_at).dumps({"r": ref} if ref else {"v": int(verdict_id)})


def appeal_url(verdict_id: int, issued_at: float | None = None, ref: str | None = None) -> str:
    """The absolute link sent to the network with a removal."""
    base = current_app.config["PUBLIC_URL"].rstrip("/")
    return f"{base}/appeal/{make_token(verdict_id, issued_at, ref)}"


def read_token(token: str) -> int:
    """The verdict id a token names; raises LinkInvalid or LinkExpired with a clear message."""
    max_age = (appeal_deadline(datetime.now(UTC)) - datetime.now(UTC)) + timedelta(days=1)
    try:
        data = _serializer().loads(token[:512], max_age=int(max_age.total_seconds()))
    except SignatureExpired:
        raise LinkExpired("This appeal link has expired: appeals are accepted for 6 months after the "
                          "decision.") from None
    except BadSignature:
        raise LinkInvalid("This appeal link is not valid: it may have been altered or cut short. "
                          "Open the link exactly as the network sent it.") from None
    if isinstance(data, dict) and isinstance(data.get("r"), str):
        verdict_id = db.session.scalar(select(Verdict.id).where(Verdict.appeal_ref == data["r"][:32]))
        if verdict_id is None:
            raise LinkInvalid("This appeal link is not valid.")
        return verdict_id
    # Links sent before verdicts had a reference name the verdict's id; they stay valid.
    if not isinstance(data, dict) or not isinstance(data.get("v"), int):
        raise LinkInvalid("This appeal link is not valid.")
    return data["v"]
