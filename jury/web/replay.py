"""Each signed intake request is accepted once: a replay of the same signature inside its window is refused.

A signature binds a timestamp to the body, and verification refuses any timestamp more than five
minutes old (or ahead). Inside those five minutes a captured request would otherwise be valid, so
the SHA-256 of "<t>.<body>" of every accepted request is kept in `signature_nonces` until its
window has passed.

The row is written in the same transaction as the batch it carried. A request that fails (bad
field, server error, database down) leaves no row, so the network may send the very same signed
bytes again; one that was stored cannot be stored twice. The table lives in the database, not in
Redis, so replay protection holds while Redis is down.

Requests may arrive out of order: a timestamp older than one already accepted is fine as long as
it is inside the window, because networks send batches in parallel; ordering is not a security
property here, single use is.
"""
from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError

from models import SignatureNonce, db, utcnow
from network.signing import TOLERANCE_SECONDS
from triage import transaction

PURGE_EVERY_SECONDS = 60
_last_purge = 0.0


class Replayed(Exception):
    """This exact signed request was accepted before."""


def request_digest(timestamp: int, body: bytes) -> str:
    """The request's identity: SHA-256 of what the signature covers."""
    return hashlib.sha256(b"%d." % timestamp + bytes(body)).hexdigest()


def claim(timestamp: int, body: bytes) -> None:
    """Mark a verified request as used in the current transaction; raise Replayed if it already was.

    Call it last before storing the batch, with nothing else pending in the session.
    """
    _purge_expired()
    expires = datetime.fromtimestamp(timestamp + TOLERANCE_SECONDS + 60, tz=UTC)
    digest = request_digest(timestamp, body)
    if db.session.get(SignatureNonce, digest) is not None:
        raise Replayed()
    db.session.add(SignatureNonce(digest=digest, expires_at=expires))
    try:
        # On PostgreSQL a concurrent twin waits here for the first one's commit, then fails.
        # No savepoint: nothing else is pending yet, and pysqlite would commit a first SAVEPOINT's release.
        db.session.flush()
    except IntegrityError:
        transaction.abandon()
        raise Replayed() from None


def _purge_expired() -> None:
    """Drop rows whose signatures have expired, at most once a minute per process.

    In the request's own transaction: a second connection could wait on this one's locks on SQLite.
    """
    global _last_purge
    now = time.monotonic()
    if now - _last_purge < PURGE_EVERY_SECONDS:
        return
    _last_purge = now
    db.session.execute(delete(SignatureNonce).where(SignatureNonce.expires_at < utcnow()))
