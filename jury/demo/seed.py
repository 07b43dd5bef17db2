"""The one-command demo: migrate, seed accounts and sandbox posts, and serve."""
from __future__ import annotations

import secrets
import threading

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import select, update
from werkzeug.serving import make_server

from jury.demo import sandbox_network as sandbox
from jury.jurors import users
from jury.panels import verdicts
from jury.panels.quorum import Tally
from jury.tasks import sweeper
from models import Action, Case, GoldAnswer, Post, User, db, utcnow
from triage import follow_links, gold, intake, outbox, transaction
from triage.policy import current_policy
from triage.schemas import PostIn, ReportIn

# Everyday posts, a few rude or menacing ones, and reports from sandbox users.
DEMO_POSTS = [
    ("demo-1", "alice", "Lovely sunrise over the harbour this morning. Coffee and a long walk."),
    ("demo-2", "bob", "Does anyone know a good bakery near the station? Moving here next week."),
    ("demo-3", "mallory", "I know where you live and I will hurt you and your family tonight."),
    ("demo-4", "trent", "You are a pathetic idiot and everyone here despises you, loser."),
    ("demo-5", "carol", "That new film absolutely killed it, best ending I have seen in years!"),
    ("demo-6", "mallory", "People from that town are vermin and should be driven out."),
    ("demo-7", "dave", "Reminder: the community garden meeting is on Thursday at 7pm."),
    ("demo-8", "trent", "Shut up, you stupid moron. Nobody asked for your garbage opinion."),
    ("demo-9", "erin", "Buy cheap followers now!!! Click my profile for 90% off, limited offer!!!"),
    ("demo-10", "frank", "I disagree with the council's new parking plan, and here is why."),
    ("demo-11", "gaspard", "Tu es un idiot fini, personne ne veut de toi ici, dégage."),
    ("demo-12", "heidi", "Our choir sings at the market on Saturday; come along!"),
    # A repeat spammer: the first two were removed before the demo starts (two strikes, two
    # warnings); the third, in the queue, suspends the account when a panel removes it.
    ("demo-13", "oscar", "Crypto giveaway!!! Send 1 coin, get 2 back, today only, link in bio!!!"),
    ("demo-14", "oscar", "Crypto giveaway again!!! Double your coins, DM me now, offer ends soon!!!"),
    ("demo-15", "oscar", "Last chance crypto giveaway!!! Send coins now and get double back!!!"),
    # The threat pasted by two more accounts with small changes: near-copies that share its case.
    ("demo-16", "victor", "I know where you live and I will hurt you and your family tonight!!"),
    ("demo-17", "walter", "I know where you live @carol and I will hurt you and your family tonight."),
]
# Posts whose language the network states (the others are detected).
DEMO_LANGS = {"demo-11": "fr"}
DEMO_REPORTS = [
    ("demo-r1", "demo-3", "carol", "violence_threat", "Direct threat against me."),
    ("demo-r2", "demo-4", "alice", "harassment", None),
    ("demo-r3", "demo-9", "bob", "spam", "Same message posted everywhere."),
    ("demo-r4", "demo-10", "trent", "other", "I don't like this opinion."),
    ("demo-r5", "demo-6", "dave", "hate", None),
    ("demo-r6", "demo-11", "alice", "harassment", None),
    ("demo-r7", "demo-12", "trent", "spam", None),
    ("demo-r8", "demo-13", "alice", "spam", "A scam."),
    ("demo-r9", "demo-14", "bob", "spam", "The same scam again."),
    ("demo-r10", "demo-15", "carol", "spam", "Third time this week."),
]
# Removed by the lead while seeding: the author's earlier strikes.
DEMO_EARLIER_REMOVALS = ("demo-13", "demo-14")
# juror2 follows trent on the sandbox network, so is never dealt trent's posts.
DEMO_FOLLOWS = [("juror-net-2", "trent")]
# A French-reading juror (interface in French) and a newcomer on probation.
DEMO_PROFILES = {"juliette": {"locale": "fr", "languages": ["fr", "en"]}}
# This decided case joins the gold set (a lead's decision: the choir post is not spam).
DEMO_GOLD_SOURCE = "demo-12"
# Enough jurors to fill an appeal's fresh panel of five after a panel of three removed the post.
DEMO_ACCOUNTS = [("juror", "juror", "juror-net-1"), ("juror2", "juror", "juror-net-2"),
                 ("juror3", "juror", "juror-net-3"), ("juliette", "juror", "juror-net-4"),
                 *[(f"juror{n}", "juror", f"juror-net-{n + 1}") for n in range(4, 9)], ("lead", "lead", None)]
# What the demo's printout suggests, in order: a removal carried through an appeal to the lead's sign-off.
WALKTHROUGH = (
    "Log in as juror and press Next case: the threat comes first (the critical lane hid it on the "
    "sandbox network as it arrived), unless a known-answer post (the choir) comes before it, as it does "
    "now and then for new jurors: vote on that one as you see fit. Reveal the threat and vote Remove "
    "under 'Violence or threats'.",
    "Do the same as juror2 and juror3 (other browsers or private windows): three votes decide. The case "
    "page said three posts share the threat's text (victor and walter pasted it too): on the sandbox "
    "network all three are removed, each with its own statement and appeal link, and each author is "
    "suspended (a violent threat weighs three strikes).",
    "On the sandbox, choose mallory under 'Browse the network as', open 'Appeal this decision' under the "
    "removed post, and write why it should come back.",
    "A fresh panel of five decides the appeal: log in as juror4 to juror8 in turn and vote Keep.",
    "Log in as lead: Appeals shows the reversal awaiting your sign-off. Confirm it: the post is restored "
    "and mallory's suspension lifted on the sandbox network.",
    "Also as lead: On call (credible threats to life), Health (the forecast), the threat's cluster (the "
    "link on its case page: its copies, and a button to reverse the removal for all of them), the account "
    "page of oscar (two removals; a panel removing his third post suspends him), and Policy.",
)


def _reset_password(username: str, role: str, network_account: str | None) -> str:
    """Create the account or give it a fresh password; returns the password."""
    from werkzeug.security import generate_password_hash

    password = secrets.token_urlsafe(9)
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None:
        users.create_user(username, password, role, network_account_id=network_account, actor="demo")
    else:
        with transaction.atomic():
            user.password_hash = generate_password_hash(password)
    return password


def prepare() -> list[tuple[str, str, str]]:
    """Bring the database up to date and seed it; returns (username, role, password) rows."""
    upgrade()
    with transaction.atomic():
        current_policy()  # version 1, from the defaults
    accounts = [(name, role, _reset_password(name, role, net)) for name, role, net in DEMO_ACCOUNTS]
    posts = [{"id": pid, "author_id": author, "text": text} for pid, author, text in DEMO_POSTS]
    sandbox.add_posts(posts)
    sandbox.add_follows(DEMO_FOLLOWS)
    _cache_sandbox_follows({author for _, author, _ in DEMO_POSTS})
    intake.ingest_posts([PostIn(**p, lang=DEMO_LANGS.get(p["id"])) for p in posts], actor="demo")
    intake.ingest_reports([ReportIn(id=rid, post_id=pid, reporter_id=who, reason=why, comment=comment)
                           for rid, pid, who, why, comment in DEMO_REPORTS], actor="demo")
    _set_profiles()
    _seed_gold()
    _seed_earlier_removals()
    return accounts


def _seed_earlier_removals() -> None:
    """The lead removes the repeat spammer's first two posts, once: each adds a strike."""
    lead = db.session.scalar(select(User).where(User.username == "lead"))
    for external_id in DEMO_EARLIER_REMOVALS:
        case = db.session.scalar(select(Case).join(Post, Post.id == Case.post_id)
                                 .where(Post.external_id == external_id, Case.review_round == 0))
        if case is None or lead is None or case.state not in ("queued", "in_review"):
            continue
        with transaction.atomic():
            verdicts.record_verdict(case, "remove", "spam", Tally(), method="lead",
                                    policy_version=current_policy().version, actor=f"user:{lead.id}", decided_by=lead)


def _cache_sandbox_follows(authors: set[str]) -> None:
    """The sandbox lives in this database: cache its follow links directly (scoring asks over HTTP,
    which is not listening yet while the demo seeds)."""
    with transaction.atomic():
        for author in sorted(authors):
            follow_links.store_links(author, set(sandbox.follow_links(author)))


def _set_profiles() -> None:
    """Interface and reading languages of the demo jurors."""
    with transaction.atomic():
        for username, profile in DEMO_PROFILES.items():
            user = db.session.scalar(select(User).where(User.username == username))
            user.locale, user.languages = profile["locale"], profile["languages"]


def _seed_gold() -> None:
    """Decide one demo case as the lead and put it in the gold set, once."""
    if db.session.scalar(select(GoldAnswer.case_id).limit(1)) is not None:
        return
    case = db.session.scalar(select(Case).join(Post, Post.id == Case.post_id)
                             .where(Post.external_id == DEMO_GOLD_SOURCE, Case.review_round == 0))
    lead = db.session.scalar(select(User).where(User.username == "lead"))
    if case is None or lead is None or case.state not in ("queued", "in_review"):
        return
    with transaction.atomic():
        verdicts.record_verdict(case, "keep", None, Tally(), method="lead", policy_version=current_policy().version,
                                actor=f"user:{lead.id}", decided_by=lead)
    gold.promote(case.id, lead)


def serve(app: Flask, host: str, port: int) -> None:
    """Serve with the sweeper in a thread (no Redis, no separate worker in the demo)."""
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="demo-server", daemon=True)
    thread.start()
    with app.app_context():
        _deliver_what_failed_before_start()
    sweeper.start_thread(app)
    try:
        while thread.is_alive():
            thread.join(1)
    except KeyboardInterrupt:
        server.shutdown()


def _deliver_what_failed_before_start() -> None:
    """Seeding queued interim hides and removals before the sandbox was listening: send them now, not
    after backoff, and with the breaker those failures opened closed again (the sandbox now listens)."""
    adapter = outbox.network_adapter()
    outbox.circuit_breaker().record_success(str(getattr(adapter, "endpoint", adapter.name)))
    with transaction.atomic():
        db.session.execute(update(Action).where(Action.state == "failed").values(next_attempt_at=utcnow()))
    sweeper.requeue_actions()
