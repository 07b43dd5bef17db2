"""Fair panels: each exclusion rule on its own, as dealing applies it and as a lead reads it."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from jury.demo import sandbox_network as sandbox
from models import AccountLink, Assignment, AuditEvent, Case, Post, RelationshipCheck, db, utcnow
from network import SandboxAdapter, WebhookAdapter, make_adapter, relationships_of
from tests.conftest import WEBHOOK_SECRET, post_payload, report_payload
from triage import dealing, exclusions, follow_links
from triage.categories import case_category
from triage.policy import current_policy, publish_policy


@pytest.fixture
def juror(make_user):
    """An active juror (past probation) with a network account, reading English."""
    return activate(make_user("ann", network_account_id="net-ann"))


def activate(user):
    """Skip probation for tests that are about real cases."""
    user.state = "active"
    db.session.commit()
    return user


def open_case(api, pid="p1", *, author="author-1", reason="harassment", reporter="reporter-1",
              lang="en", text="You are all idiots and I hate this place") -> Case:
    """A reported post's case."""
    extra = {"lang": lang} if lang else {}
    assert api.posts(post_payload(pid, text, author=author, **extra)).status_code == 202
    assert api.reports(report_payload(f"r-{pid}", pid, reporter=reporter, reason=reason)).status_code == 202
    return db.session.scalar(select(Case).join(Post, Post.id == Case.post_id).where(Post.external_id == pid))


def codes(case, user):
    """The exclusion codes a lead would read for this pair."""
    db.session.expire_all()
    return [reason.code for reason in exclusions.explain(db.session.get(Case, case.id), user, current_policy())]


def test_an_eligible_juror_has_no_reason_and_is_dealt_the_case(api, juror):
    case = open_case(api)
    assert codes(case, juror) == []
    assert dealing.deal_next(juror).case_id == case.id


def test_the_author_is_never_dealt_their_own_post(api, juror):
    case = open_case(api, author="net-ann")
    assert codes(case, juror) == ["author"]
    assert dealing.deal_next(juror) is None


def test_a_reporter_is_never_dealt_the_post_they_reported(api, juror):
    case = open_case(api, reporter="net-ann")
    assert codes(case, juror) == ["reporter"]
    assert dealing.deal_next(juror) is None


def test_a_follower_of_the_author_is_excluded_from_the_cached_links(api, juror, make_user):
    case = open_case(api, author="author-1")
    follow_links.store_links("author-1", {"net-ann"})
    db.session.commit()
    bob = activate(make_user("bob", network_account_id="net-bob"))
    assert codes(case, juror) == ["follows"]
    assert dealing.deal_next(juror) is None
    assert codes(case, bob) == []
    assert dealing.deal_next(bob).case_id == case.id


def test_a_juror_who_does_not_read_the_language_is_excluded(api, juror, make_user):
    case = open_case(api, lang="fr-CA", text="Vous êtes tous des idiots et je déteste cet endroit")
    assert codes(case, juror) == ["language"]
    assert dealing.deal_next(juror) is None
    # Regional variants count: a juror reading "fr" reads "fr-CA".
    claire = activate(make_user("claire", network_account_id="net-claire", languages=["en", "FR"]))
    assert codes(case, claire) == []
    assert dealing.deal_next(claire).case_id == case.id


def test_a_juror_who_opted_out_of_the_category_is_excluded(api, juror, make_user):
    case = open_case(api, reason="self_harm", text="Here is how to hurt yourself")
    assert db.session.get(Case, case.id).category == "self_harm"
    juror.opted_out_categories = ["self_harm"]
    db.session.commit()
    assert codes(case, juror) == ["opted_out"]
    assert dealing.deal_next(juror) is None
    other = activate(make_user("bob", network_account_id="net-bob"))
    other.opted_out_categories = ["spam"]  # another category changes nothing
    db.session.commit()
    assert dealing.deal_next(other).case_id == case.id


def test_a_juror_over_the_daily_cap_of_a_category_is_excluded(api, juror):
    settings = dict(current_policy().settings, daily_exposure_caps={"harassment": 2})
    publish_policy(settings, reason="test cap", actor="test")
    db.session.commit()
    cases = [open_case(api, f"p{i}", reporter=f"rep-{i}") for i in range(3)]
    for _ in range(2):
        assignment = dealing.deal_next(juror)
        assert assignment is not None
        from jury.panels import voting

        voting.skip(assignment.case_id, juror)
    remaining = [c for c in cases if codes(c, juror) == ["exposure_cap"]]
    assert len(remaining) == 1
    assert dealing.deal_next(juror) is None
    # The cap is per 24 hours: yesterday's cases no longer count.
    db.session.execute(update(Assignment).values(leased_at=utcnow() - timedelta(hours=25)))
    db.session.commit()
    assert codes(remaining[0], juror) == []
    assert dealing.deal_next(juror).case_id == remaining[0].id


def test_a_cap_of_zero_shuts_the_category_for_a_juror_who_has_seen_none(api, juror):
    publish_policy(dict(current_policy().settings, daily_exposure_caps={"harassment": 0}), reason="t", actor="t")
    db.session.commit()
    case = open_case(api)
    assert codes(case, juror) == ["exposure_cap"]
    assert dealing.deal_next(juror) is None


def test_jurors_of_one_shape_share_a_statement_but_each_keeps_their_own_exclusions(api, juror, make_user):
    bob = activate(make_user("bob", network_account_id="net-bob"))
    by_ann = open_case(api, "p-ann", author="net-ann", reporter="rep-1")
    by_bob = open_case(api, "p-bob", author="net-bob", reporter="rep-2")
    dealing._STATEMENTS.clear()
    assert dealing.deal_next(juror).case_id == by_bob.id
    assert dealing.deal_next(bob).case_id == by_ann.id
    # The same SQL, run with each juror's own values. A random gold try (the policy's
    # gold_share) finds no gold case here and caches its own statement, so it is not counted.
    assert len([key for key in dealing._STATEMENTS if key[0] != "gold"]) == 1


def test_several_reasons_are_all_listed(api, juror):
    juror.opted_out_categories = ["harassment"]
    db.session.commit()
    case = open_case(api, author="net-ann", reporter="net-ann", lang="de", text="Du bist ein Idiot")
    assert set(codes(case, juror)) == {"author", "reporter", "language", "opted_out"}


def test_a_case_category_comes_from_the_reports_else_the_top_model_label():
    assert case_category(["spam", "hate", "hate"], {"threat": 0.99}) == "hate"
    assert case_category(["spam", "violence_threat"], None) == "violence_threat"  # tie: the graver
    assert case_category([], {"threat": 0.9, "toxicity": 0.95}) == "harassment"
    assert case_category([], {"identity_attack": 0.7, "toxicity": 0.3}) == "hate"
    assert case_category([], {"toxicity": 0.2}) is None
    assert case_category(["not-a-rule"], {}) is None


def test_policy_refuses_a_cap_on_an_unknown_category(app):
    from triage.policy import PolicyError

    with pytest.raises(PolicyError):
        publish_policy(dict(current_policy().settings, daily_exposure_caps={"nonsense": 3}), reason="x", actor="t")
    with pytest.raises(PolicyError):
        publish_policy(dict(current_policy().settings, gold_share=1.5), reason="x", actor="t")


def test_the_lead_page_shows_every_reason_and_jurors_are_refused(api, juror, make_user, client, auth):
    case = open_case(api, author="net-ann")
    make_user("lee", role="lead")
    auth.login("ann")
    assert client.get(f"/lead/panels/cases/{case.id}").status_code == 403
    auth.logout()
    auth.login("lee")
    html = client.get(f"/lead/panels/cases/{case.id}").get_data(as_text=True)
    assert 'id="eligibility-ann"' in html and "the juror wrote the post" in html
    one = client.get(f"/lead/panels/cases/{case.id}?username=ann").get_data(as_text=True)
    assert "eligibility-ann" in one and "eligibility-lee" not in one
    assert client.get("/lead/panels/cases/999999").status_code == 404
    assert client.get("/lead/panels/").status_code == 200


def test_make_adapter_gives_the_sandbox_the_relationship_capability(app):
    sandbox_adapter = make_adapter("sandbox", url="http://127.0.0.1:9/sandbox", secret="s" * 16)
    webhook = make_adapter("webhook", url="http://127.0.0.1:9/net", secret="s" * 16)
    assert isinstance(sandbox_adapter, SandboxAdapter)
    assert type(webhook) is WebhookAdapter and relationships_of(webhook, "x") is None
    # A webhook network cannot say: nothing is cached and nothing excluded.
    assert follow_links.refresh_authors(["author-1"], adapter=webhook) == 0


def test_follow_links_come_from_the_sandbox_over_http_and_are_cached(app, api, live_server, make_user):
    sandbox.add_follows([("net-ann", "author-9"), ("author-9", "net-cat")])
    ann = activate(make_user("ann", network_account_id="net-ann"))
    cat = activate(make_user("cat", network_account_id="net-cat"))
    bob = activate(make_user("bob", network_account_id="net-bob"))
    # Scoring (inline here) asks the network about the author and caches the answer.
    case = open_case(api, "p9", author="author-9")
    links = set(db.session.scalars(select(AccountLink.account_id).where(AccountLink.author_id == "author-9")))
    assert links == {"net-ann", "net-cat"}
    assert db.session.get(RelationshipCheck, "author-9").supported is True
    assert "follow_links_cached" in set(db.session.scalars(select(AuditEvent.event_type)))
    assert codes(case, ann) == ["follows"] and codes(case, cat) == ["follows"] and codes(case, bob) == []
    assert dealing.deal_next(ann) is None
    assert dealing.deal_next(bob).case_id == case.id


def test_the_sandbox_refuses_an_unsigned_relationship_lookup(app, live_server):
    import requests

    response = requests.get(live_server.url + "/sandbox/accounts/author-9/relationships", timeout=10)
    assert response.status_code == 401
    adapter = SandboxAdapter(live_server.url + "/sandbox", WEBHOOK_SECRET)
    assert adapter.relationships("nobody") == set()
    wrong = SandboxAdapter(live_server.url + "/sandbox", "another-secret-value")
    from network import RelationshipError

    with pytest.raises(RelationshipError):
        wrong.relationships("nobody")


def test_an_unreachable_network_caches_nothing_and_scoring_still_works(api, juror):
    # The test app's network URL is a closed port: the lookup fails, the case still opens.
    case = open_case(api, "p5", author="author-5")
    assert db.session.get(RelationshipCheck, "author-5") is None
    assert dealing.deal_next(juror).case_id == case.id


def test_a_failing_network_is_asked_once_per_job_not_once_per_author(app):
    from network import RelationshipError

    class Down:
        """A network whose follow-link lookup fails (down, or timing out)."""

        asked = 0

        def relationships(self, account_id: str) -> set[str] | None:
            Down.asked += 1
            raise RelationshipError("ConnectTimeout asking the network")

    assert follow_links.refresh_authors([f"author-{n}" for n in range(20)], adapter=Down()) == 0
    assert Down.asked == 1
    assert db.session.scalar(select(func.count()).select_from(RelationshipCheck)) == 0
