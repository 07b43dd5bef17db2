"""axe-core on every page a juror or a lead sees: no serious or critical accessibility violation.

The pages are filled first (a decided case with its verdict, an escalation, an appeal, an account, a
critical case), so the checks see tables, forms and charts, not empty states only."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from jury.panels import voting
from models import Case, Post, User, Verdict, db
from tests.browser.conftest import log_in
from triage import dealing

# Jury's defaults (near-duplicate clusters on), so the cluster page is among the pages checked.
pytestmark = [pytest.mark.browser, pytest.mark.clusters]

GRAVE = ("serious", "critical")


def grave_violations(page) -> list[str]:
    """Each serious or critical axe violation on the page, with the first element it names."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation.get("impact") in GRAVE:
            target = violation["nodes"][0]["target"] if violation.get("nodes") else "?"
            found.append(f"{violation['id']} ({violation['impact']}): {violation['help']} at {target}")
    return found


def fill(jury) -> dict:
    """A decided case, an open one, a critical one, an escalation-free queue with reports and scores."""
    decided = jury.report("ax-1", "Buy cheap followers now, click my profile!", reason="spam", author="spammer")
    open_case = jury.report("ax-2", "You are an idiot and everyone hates you.", reason="harassment")
    jury.report("ax-3", "I know where you live and I will hurt you tonight.", reason="violence_threat")
    for n in range(3):
        jury.user(f"ax-juror{n}")
    for n in range(3):
        user = db.session.scalar(select(User).where(User.username == f"ax-juror{n}"))
        for _ in range(4):
            assignment = dealing.deal_next(user)
            if assignment is None or assignment.case_id == decided:
                break
            voting.skip(assignment.case_id, user)
        if assignment is not None and assignment.case_id == decided:
            voting.cast_vote(decided, user, "remove", "spam")
    db.session.remove()
    verdict = db.session.scalar(select(Verdict.id).where(Verdict.case_id == decided))
    cluster = db.session.scalar(select(Post.cluster_id).join(Case, Case.post_id == Post.id).where(Case.id == decided))
    version = 1
    db.session.remove()
    return {"decided": decided, "open": open_case, "verdict": verdict, "version": version, "cluster": cluster}


JUROR_PAGES = ("/", "/guide", "/profile")
LEAD_PAGES = ("/lead/", "/lead/escalations", "/lead/actions", "/lead/health", "/lead/oncall", "/lead/jurors",
              "/lead/bulk", "/lead/policy", "/lead/policy/history", "/lead/policy/versions/{version}",
              "/lead/tuning", "/lead/shadow", "/lead/verdicts", "/lead/verdicts/{verdict}/why", "/lead/agreement",
              "/lead/appeals", "/lead/reports", "/lead/panels/", "/lead/panels/cases/{decided}",
              "/lead/cases/{decided}/votes", "/lead/accounts?q=spam", "/lead/accounts/spammer", "/lead/rq",
              "/lead/clusters/{cluster}", "/cases/{open}")


def test_no_page_has_a_serious_or_critical_accessibility_violation(jury, new_context):
    ids = fill(jury)
    anonymous = new_context().new_page()
    problems = {}
    for path in ("/login",):
        anonymous.goto(jury.url + path)
        problems[path] = grave_violations(anonymous)
    juror = new_context().new_page()
    jury.user("ax-reader")
    log_in(juror, jury, "ax-reader")
    for path in JUROR_PAGES:
        juror.goto(jury.url + path)
        problems[path] = grave_violations(juror)
    juror.goto(jury.url + "/")
    juror.locator("#next-case").click()
    juror.wait_for_url(jury.url + "/cases/*")
    problems["juror case page"] = grave_violations(juror)
    lead = new_context().new_page()
    jury.user("ax-lead", role="lead")
    log_in(lead, jury, "ax-lead")
    for template in LEAD_PAGES:
        path = template.format(**ids)
        response = lead.goto(jury.url + path)
        assert response.status < 400, (path, response.status)
        problems[path] = grave_violations(lead)
    assert {path: found for path, found in problems.items() if found} == {}
