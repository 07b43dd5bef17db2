"""The built-in sandbox network: keeps posts, reports them to Jury, receives Jury's actions."""
from __future__ import annotations

import json
import time
import uuid
from typing import Any
from urllib.parse import unquote, urlsplit

import requests
from flask import current_app
from sqlalchemy import select

from models import SandboxAction, SandboxFollow, SandboxPost, db
from models.errors import Conflict, DomainError, NotFound
from models.sql import insert_ignore
from network import ACTION_TYPES
from network.signing import SIGNATURE_HEADER, sign_v2
from triage import transaction

# What each action does to a sandbox post's visibility.
STATE_AFTER = {"remove_post": "removed", "hide_post": "hidden", "unhide_post": "visible",
               "restore_post": "visible"}


def add_posts(posts: list[dict[str, str]]) -> int:
    """Put posts on the sandbox network (demo data); returns how many were new."""
    rows = [{"external_id": p["id"], "author_id": p["author_id"], "text": p["text"], "state": "visible"}
            for p in posts]
    with transaction.atomic():
        created = insert_ignore(SandboxPost, rows, ("external_id",), SandboxPost.id)
    return len(created)


def receive_action(payload: Any) -> tuple[str, SandboxAction]:
    """Apply one action from Jury; ('applied' | 'duplicate', row). Raises on a bad payload."""
    if not isinstance(payload, dict):
        raise DomainError("body must be a JSON object")
    action_id, kind = payload.get("action_id"), payload.get("type")
    if not isinstance(action_id, str) or not action_id:
        raise DomainError("action_id is required")
    if kind not in ACTION_TYPES:
        raise DomainError(f"type must be one of {', '.join(ACTION_TYPES)}")
    existing = db.session.scalar(select(SandboxAction).where(SandboxAction.action_id == action_id))
    if existing is not None:
        return "duplicate", existing
    post_id = payload.get("post_id")
    if kind in STATE_AFTER:
        post = db.session.scalar(select(SandboxPost).where(SandboxPost.external_id == post_id))
        if post is None:
            raise NotFound(f"no post {post_id!r} on this network")
    row = SandboxAction(action_id=action_id, type=kind, post_id=post_id,
                        account_id=payload.get("account_id"), payload=payload)
    try:
        with transaction.atomic():
            if kind in STATE_AFTER:
                post.state = STATE_AFTER[kind]
            db.session.add(row)
    except Exception:
        # A concurrent delivery of the same action won the race (rolled back): it is applied.
        existing = db.session.scalar(select(SandboxAction).where(SandboxAction.action_id == action_id))
        if existing is None:
            raise
        return "duplicate", existing
    return "applied", row


# What each account action leaves an account as, on the sandbox network.
ACCOUNT_STATE_AFTER = {"warn_account": "warned", "suspend_account": "suspended", "unsuspend_account": "active"}


def account_states() -> dict[str, str]:
    """Each account an account action reached, as the sandbox network now shows it (the last action wins;
    a suspension without duration_days is permanent)."""
    states: dict[str, str] = {}
    for row in db.session.scalars(select(SandboxAction).where(SandboxAction.type.in_(tuple(ACCOUNT_STATE_AFTER)))
                                  .order_by(SandboxAction.id)):
        state = ACCOUNT_STATE_AFTER[row.type]
        if row.type == "suspend_account" and (row.payload or {}).get("duration_days") is None:
            state = "banned"
        states[str(row.account_id)] = state
    return states


def report_post(external_id: str, reason: str, reporter_id: str) -> dict:
    """Report a sandbox post to Jury through the signed intake API, over real HTTP."""
    post = db.session.scalar(select(SandboxPost).where(SandboxPost.external_id == external_id))
    if post is None:
        raise NotFound("no such post")
    if post.state == "removed":
        raise Conflict("this post has been removed")
    body = json.dumps({"reports": [{
        "id": f"sandbox-report-{uuid.uuid4().hex[:12]}", "post_id": post.external_id,
        "reporter_id": reporter_id, "reason": reason,
        "post": {"id": post.external_id, "author_id": post.author_id, "text": post.text},
    }]}).encode()
    config = current_app.config
    url = config["PUBLIC_URL"].rstrip("/") + "/api/v1/reports"
    # v2: the signature fits POST to this path only (see network/signing.py).
    signature = sign_v2(config["INTAKE_SECRET"], "POST", unquote(urlsplit(url).path), body, int(time.time()))
    response = requests.post(url, data=body, timeout=30,
                             headers={"Content-Type": "application/json", SIGNATURE_HEADER: signature})
    if response.status_code != 202:
        raise DomainError(f"Jury refused the report: HTTP {response.status_code}")
    return response.json()


def recent() -> tuple[list[SandboxPost], list[SandboxAction]]:
    """Posts and the latest actions, for the sandbox page."""
    posts = db.session.scalars(select(SandboxPost).order_by(SandboxPost.id)).all()
    actions = db.session.scalars(select(SandboxAction).order_by(SandboxAction.id.desc()).limit(50)).all()
    return list(posts), list(actions)


def accounts() -> list[str]:
    """The sandbox network's accounts: everyone who has posted on it."""
    return sorted(set(db.session.scalars(select(SandboxPost.author_id).distinct())))


def add_follows(pairs: list[tuple[str, str]]) -> int:
    """Record (follower, followed) pairs on the sandbox network (demo data); returns how many were new."""
    added = 0
    with transaction.atomic():
        for follower, followed in pairs:
            exists = db.session.scalar(select(SandboxFollow.id).where(
                SandboxFollow.follower_id == follower, SandboxFollow.followed_id == followed))
            if exists is None:
                db.session.add(SandboxFollow(follower_id=follower, followed_id=followed))
                added += 1
    return added


def follow_links(account_id: str) -> list[str]:
    """Accounts that follow, or are followed by, the account on the sandbox network."""
    followers = select(SandboxFollow.follower_id).where(SandboxFollow.followed_id == account_id)
    followed = select(SandboxFollow.followed_id).where(SandboxFollow.follower_id == account_id)
    return sorted(set(db.session.scalars(followers)) | set(db.session.scalars(followed)))
