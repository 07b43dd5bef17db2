"""Cache the network's follow links of post authors, so dealing never makes an HTTP call."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError

import audit
from models import AccountLink, RelationshipCheck, db, utcnow
from network import RelationshipError, RelationshipSource, relationships_of
from triage.outbox import network_adapter

log = logging.getLogger(__name__)
# Follow links change slowly; asking again once a day per author is plenty.
REFRESH_AFTER = timedelta(hours=24)


def refresh_authors(author_ids: Iterable[str], adapter: object | None = None) -> int:
    """Ask the network for each author's links not checked lately; returns how many were stored.

    A network that cannot be reached is not asked about the remaining authors (they are asked again
    on a later scoring job);
    one that does not offer the capability is remembered as unsupported. Caller commits.
    """
    authors = sorted(set(author_ids))
    if not authors:
        return 0
    if adapter is None:
        adapter = network_adapter()
    if not isinstance(adapter, RelationshipSource):
        return 0  # this network cannot say: nothing to cache, nothing to exclude
    fresh = set(db.session.scalars(select(RelationshipCheck.author_id).where(
        RelationshipCheck.author_id.in_(authors), RelationshipCheck.checked_at > utcnow() - REFRESH_AFTER)))
    stored = 0
    for author in authors:
        if author in fresh:
            continue
        try:
            links = relationships_of(adapter, author)
        except RelationshipError as error:
            # One failure is enough to stop: a network that is down would make each author wait for
            # its timeout, and a scoring job of 20 authors wait 20 timeouts.
            log.info("follow links of %s and the authors after it not refreshed: %s", author, error)
            break
        try:
            # A savepoint: a concurrent job caching the same author must not undo this job's work.
            with db.session.begin_nested():
                store_links(author, links)
        except IntegrityError:
            continue
        stored += 1
    return stored


def store_links(author: str, links: set[str] | None) -> None:
    """Replace the cached links of one author (None: the network cannot say). Caller commits."""
    db.session.execute(delete(AccountLink).where(AccountLink.author_id == author))
    for account in sorted(links or ()):
        if account != author:
            db.session.add(AccountLink(author_id=author, account_id=account))
    check = db.session.get(RelationshipCheck, author)
    if check is None:
        check = RelationshipCheck(author_id=author)
        db.session.add(check)
    check.supported, check.checked_at = links is not None, utcnow()
    db.session.flush()
    audit.record(db.session, "follow_links_cached", "account", author,
                 {"links": len(links or ()), "supported": links is not None}, actor="system")
