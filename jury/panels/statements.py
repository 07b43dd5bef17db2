"""What a verdict says and does on the network: the statement of reasons (DSA Art. 17) and the
actions for the post and its reporters. Shared by a panel's verdict (jury.panels.verdicts) and a
cluster member's (jury.panels.cluster_verdicts)."""
from __future__ import annotations

from sqlalchemy import select

from jury.panels.quorum import Tally
from models import Action, Case, Post, Report, db
from models.rules import RULES_BY_CODE

METHOD_WORDS = {
    "quorum": "a panel of volunteer jurors",
    "weighted": "a panel of volunteer jurors (reliability-weighted)",
    "lead": "a trust-and-safety lead after the jury panel split",
    "auto": "an automated rule",
    "cluster": "the decision on a near-copy of the post",
}


# Why a panel decided without reaching its confidence or supermajority (quorum.Decision.reason).
LEANING_WORDS = {
    "votes_not_worth": "more votes were not expected to change the outcome",
    "panel_full": "the panel had reached its largest size",
    "leads_full": "the panel was split and no trust-and-safety lead was free to decide it",
    "queue_flood": "more cases were waiting than the jury could read, and another vote would have "
                   "delayed one of them",
}


def leaning_sentence(reason: str | None, sure: float | None) -> str:
    """The honest rider of a verdict taken at the panel's leaning ('' for a verdict that was not)."""
    if reason is None:
        return ""
    how_sure = f", an estimated {sure:.0%} likely to be right" if sure is not None else ""
    return f" The panel decided at its leaning{how_sure}, because {LEANING_WORDS[reason]}."


def statement_of_reasons(outcome: str, rule: str | None, tally: Tally, method: str, origin: str,
                         report_count: int = 0, leaning: str = "") -> str:
    """A plain-language reason the network can show the author (`leaning`: leaning_sentence's rider)."""
    if origin == "reported":
        source = "after user reports"
    elif report_count:
        source = "after an automated model flagged it and users reported it"
    else:
        source = "after an automated model flagged it"
    who = f"{METHOD_WORDS[method]} ({tally.remove} of {tally.total} votes to remove)" if tally.total else (
        # A lead who decided without a panel (bulk work, or before any juror voted) split no panel.
        "a trust-and-safety lead" if method == "lead" else f"{METHOD_WORDS[method]} (no panel votes)")
    if outcome == "remove":
        title = RULES_BY_CODE[rule].title if rule in RULES_BY_CODE else "the network's rules"
        return (f"Removed for breaking the rule '{title}'. The post was reviewed {source} "
                f"and decided by {who}.{leaning}")
    return f"Kept: the post was reviewed {source} and found not to break the rules by {who}.{leaning}"


def actions_for(outcome: str, post: Post, case: Case, statement: str,
                also_hidden_on: int | None = None) -> list[tuple[str, str, str]]:
    """The network operations a verdict needs: the post itself, then each reporter told.
    `also_hidden_on`: another case an interim hide of this post may hang on (a copy's cluster case)."""
    actions = []
    if outcome == "remove":
        actions.append(("remove_post", post.author_id, statement))
    elif post.state == "hidden" or hide_pending(post, {case.id, also_hidden_on} - {None}):
        actions.append(("unhide_post", post.author_id, statement))
    reporters = db.session.scalars(
        select(Report.reporter_id).where(Report.post_id == post.id).distinct().order_by(Report.reporter_id)
    ).all()
    told = ("The post you reported was removed." if outcome == "remove"
            else "The post you reported was reviewed and kept.")
    actions.extend(("notify", reporter, told) for reporter in reporters)
    return actions


def hide_pending(post: Post, case_ids: set[int]) -> bool:
    """Whether an interim hide of the post was queued on one of these cases (it may not have landed yet)."""
    return db.session.scalar(
        select(Action.id).where(Action.case_id.in_(case_ids), Action.type == "hide_post",
                                Action.post_external_id == post.external_id).limit(1)
    ) is not None
