"""The lead pages write codes as words: the failed actions, the health page's actions and the account
page's states, strikes and timeline."""
from __future__ import annotations

import re

from models import Action, db
from tests.jury.leads.test_lead_accounts import seed


def cells(html: str) -> list[str]:
    """The text of every table cell, tags stripped."""
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", html, re.S)]


def test_failed_actions_and_health_name_types_and_states_in_words(app, client, lead):
    ids = seed()
    db.session.add_all([
        Action(case_id=ids["c1"], type="remove_post", idempotency_key="k-dead", state="dead", last_error="410 Gone"),
        Action(case_id=ids["c1"], type="notify", idempotency_key="k-failed", state="failed", last_error="503"),
    ])
    db.session.commit()
    shown = cells(client.get("/lead/actions").get_data(as_text=True))
    assert {"remove the post", "refused for good", "tell the reporter", "failed, will retry"} <= set(shown)
    assert not {"remove_post", "dead", "notify", "failed"} & set(shown)
    health = client.get("/lead/health/fragment").get_data(as_text=True)
    assert "<td>remove the post</td><td>refused for good</td>" in health
    assert "<th>refused for good</th>" in health and "<th>dead</th>" not in health


def test_the_account_page_writes_its_timeline_in_words(app, client, lead):
    seed()
    html = client.get("/lead/accounts/acct-1").get_data(as_text=True)
    shown = cells(html)
    assert '<td id="state">suspended until' in html
    assert "in force" in shown and "expired" in shown  # the strikes' statuses
    for line in ("posted, now visible", "reported for Spam or scams", "reported a post for Spam or scams",
                 "Remove under Hate (panel majority)", "suspend the author (sent)",
                 "appeal by the author (with a fresh panel)", "strike of weight 2 under Hate (in force)",
                 "case opened (reported by users), now waiting for jurors"):
        assert line in shown, line
    for kind in ("Post", "Reported", "Report made", "Case", "Decision", "Network action", "Appeal", "Strike"):
        assert kind in shown, kind
    assert not [cell for cell in shown if re.search(r"\b[a-z]+_[a-z_]+\b", cell)]  # no code left
