"""One verdict for a flood of copies, on both databases: copies share one case, its verdict reaches
each copy as its own decision (action, statement, appeal, strike), later copies are held and removed
under it or confirmed by a juror, spot checks can pause it, and a lead can reverse it."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

import audit
from audit import exports, figures
from jury.appeals import review as appeals
from jury.demo import sandbox_network as sandbox
from jury.panels import cluster_verdicts, verdicts, voting
from jury.tasks import sweeper
from models import Action, Case, Cluster, Post, SandboxAction, Strike, Verdict, db, utcnow
from models.errors import Conflict, Forbidden
from tests.conftest import post_payload, report_payload
from triage import cases, critical, dealing, exclusions, intake, jobs
from triage.fingerprint import similarity, sketch
from triage.policy import current_policy, publish_policy
from triage.schemas import PostIn, ReportIn

pytestmark = pytest.mark.clusters

THREAT = ("I know where you live @mayor_jones. Tonight I will come to your house and kill you and your "
          "family. Nobody will stop me.")
COPIES = [
    THREAT.replace("o", "о").replace("e", "е"),  # Cyrillic homoglyphs
    THREAT.replace("@mayor_jones", "@council_smith") + " 🔪🔪 #justice",
    " ".join(THREAT),  # spaced out
]
LOOSE = THREAT.replace("Tonight", "Tomorrow night").replace("family", "children")  # about 0.7 alike
QUOTE = (f'Someone just posted this at our mayor: "{THREAT}" This is disgusting and criminal. I reported it to '
         "the police and so should you. Threats like this have no place in our town.")
LAWFUL = "The harbour market opens at nine on Saturday; bring your own bags and come early for the fish."


def send(api, pid: str, text: str, author: str) -> None:
    sandbox.add_posts([{"id": pid, "author_id": author, "text": text}])
    assert api.posts(post_payload(pid, text, author=author)).status_code == 202


def report(api, pid: str, reporter: str) -> None:
    answer = api.reports(report_payload(f"r-{pid}-{reporter}", pid, reporter=reporter, reason="violence_threat"))
    assert answer.status_code == 202, answer.get_data(as_text=True)


def post(pid: str) -> Post:
    db.session.expire_all()
    return db.session.scalar(select(Post).where(Post.external_id == pid))


def first_case(pid: str) -> Case | None:
    return db.session.scalar(select(Case).join(Post, Post.id == Case.post_id)
                             .where(Post.external_id == pid, Case.review_round == 0))


def network(kind: str) -> list[SandboxAction]:
    db.session.expire_all()
    return list(db.session.scalars(select(SandboxAction).where(SandboxAction.type == kind).order_by(SandboxAction.id)))


def set_clusters(**group) -> None:
    publish_policy({**current_policy(fresh=True).settings, "clusters": {"enabled": True, **group}},
                   reason="test", actor="test")
    db.session.commit()


def flood(api) -> Case:
    """The threat and three copies by four authors, two of them reported: one case for all."""
    send(api, "t0", THREAT, "a0")
    for n, text in enumerate(COPIES, start=1):
        send(api, f"t{n}", text, f"a{n}")
    send(api, "quote", QUOTE, "journalist")
    report(api, "t0", "ann")
    report(api, "t2", "bob")
    report(api, "t3", "cy")
    case = first_case("t0")
    assert case.cluster_id == post("t3").cluster_id
    # The copies opened no case of their own (the quote, a post of its own, may have).
    assert [first_case(f"t{n}") for n in range(1, 4)] == [None, None, None]
    return case


def serve(case_id: int, jurors, decision: str, rule: str | None = None) -> None:
    """Each juror votes `decision` on the case, keeping whatever else they are dealt first."""
    for juror in jurors:
        while (assignment := dealing.deal_next(juror)) is not None and assignment.case_id != case_id:
            voting.cast_vote(assignment.case_id, juror, "keep")
        assert assignment is not None, "the case was never dealt"
        voting.cast_vote(case_id, juror, decision, rule)
    db.session.expire_all()


def remove(case: Case, jurors) -> Verdict:
    serve(case.id, jurors, "remove", "violence_threat")
    return db.session.scalar(select(Verdict).where(Verdict.case_id == case.id))


def test_copies_share_one_case_whose_reports_add_up_and_jurors_see_the_variants(api, client, jurors, auth):
    case = flood(api)
    assert case.report_count == 3
    assert post("quote").cluster_id != case.cluster_id
    juror = jurors[0]
    assert dealing.deal_next(juror).case_id == case.id
    auth.login(juror.username)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="cluster"' in page and "4 posts share this text" in page
    assert "3 reports" in page and page.count("<li><strong>Violence") == 3  # the copies' reports too
    assert "council_smith" in page  # a variant, escaped like the post
    assert "<script" not in page.split('id="cluster"')[1].split("</section>")[0]


def test_the_verdict_reaches_every_copy_as_its_own_decision(live_server, api, jurors):
    case = flood(api)
    verdict = remove(case, jurors[:3])
    assert verdict.outcome == "remove"
    cluster = db.session.get(Cluster, case.cluster_id)
    assert cluster.verdict_id == verdict.id
    members = db.session.scalars(select(Verdict).where(Verdict.source_verdict_id == verdict.id)).all()
    assert len(members) == 3 and {m.method for m in members} == {"cluster"}
    assert all("near-copy" in m.statement and "Violence" in m.statement for m in members)
    assert len({m.appeal_ref for m in [verdict, *members]}) == 4  # each its own appeal link
    removed = {a.post_id for a in network("remove_post")}
    assert removed == {"t0", "t1", "t2", "t3"}
    assert post("quote").state != "removed" and "quote" not in removed  # counter-speech is not removed with it
    strikes = db.session.scalars(select(Strike.account_id)).all()
    assert len(strikes) == 4  # one on each author
    told = {a.account_id for a in network("notify")}
    assert {"ann", "bob", "cy"} <= told  # each copy's reporters hear of it
    audit.seal(db.session)
    assert audit.verify_chain(db.session)[1] is None
    # The transparency figures and statements say which decisions were applied to copies.
    start, end = verdict.decided_at - timedelta(hours=1), utcnow() + timedelta(hours=1)
    assert figures.compute(db.session, start, end).copy_decisions == 3
    rows = {row["post_id"]: row for row in (d.row for d in exports.decisions(db.session, start, end))}
    assert rows["t1"]["decision_method"] == "cluster" and rows["t1"]["automated_decision"] is True
    assert rows["t0"]["automated_decision"] is False


def test_a_successful_appeal_on_one_copy_restores_that_copy_only(live_server, api, jurors, lead):
    verdict = remove(flood(api), jurors[:3])
    member = db.session.scalar(select(Verdict).join(Case, Case.id == Verdict.case_id)
                               .join(Post, Post.id == Case.post_id).where(Post.external_id == "t2"))
    appeal = appeals.file_appeal(member.id, "a2", "I was quoting it to report it.", channel="link",
                                 actor="appellant")
    serve(appeal.appeal_case_id, jurors[3:8], "keep")
    appeals.sign_off(appeal.id, lead, True, "The copy was a report.")
    assert [a.post_id for a in network("restore_post")] == ["t2"]
    assert post("t2").state == "restored" and post("t1").state == "removed"
    assert db.session.get(Cluster, post("t0").cluster_id).verdict_id == verdict.id  # the rest stands


def test_a_later_copy_is_hidden_at_once_and_removed_under_the_standing_verdict(live_server, api, jurors):
    verdict = remove(flood(api), jurors[:3])
    send(api, "late", THREAT.replace("@mayor_jones", "@mayor_jones_"), "a9")
    late = first_case("late")
    assert late.origin == "cluster" and late.state in ("decided", "actioned")
    held = [a for a in network("hide_post") if a.post_id == "late"]
    assert held and held[0].id < next(a.id for a in network("remove_post") if a.post_id == "late")
    assert db.session.scalar(select(Verdict.source_verdict_id).where(Verdict.case_id == late.id)) == verdict.id
    assert db.session.scalar(select(func.count()).select_from(Strike).where(Strike.account_id.is_not(None))) == 5


def test_a_looser_copy_is_hidden_and_one_juror_confirms_it(live_server, api, jurors, auth, client):
    assert 0.6 <= similarity(sketch(THREAT).signature, sketch(LOOSE).signature) < 0.8
    remove(flood(api), jurors[:3])
    send(api, "loose", LOOSE, "a8")
    case = first_case("loose")
    assert (case.origin, case.panel_size, case.state) == ("confirm", 1, "queued")
    assert "loose" in [a.post_id for a in network("hide_post")]
    juror = jurors[4]
    while (assignment := dealing.deal_next(juror)).case_id != case.id:
        voting.cast_vote(assignment.case_id, juror, "keep")
    auth.login(juror.username)
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'A near-copy of this post was removed for breaking the rule "Violence' in page
    assert "less alike than the others" in page
    voting.cast_vote(case.id, juror, "remove", "violence_threat")
    assert "loose" in {a.post_id for a in network("remove_post")}


def test_a_juror_who_disagrees_with_a_spot_check_pauses_the_cluster_and_tells_a_lead(live_server, api, jurors, lead):
    set_clusters(spot_check_share=1.0)
    remove(flood(api), jurors[:3])
    checks = db.session.scalars(select(Case).where(Case.origin == "spot_check")).all()
    assert len(checks) == 3 and all(c.panel_size == 1 and c.review_round == 1 for c in checks)
    check = checks[0]
    serve(check.id, jurors[5:6], "keep")
    assert db.session.get(Case, check.id).state == "escalated"
    cluster = db.session.get(Cluster, check.cluster_id)
    assert cluster.paused_at is not None
    # Paused: even a close copy now waits for a juror.
    send(api, "late", THREAT, "a9")
    assert first_case("late").origin == "confirm"
    # The lead agrees with the juror: that copy is restored; the cluster stays paused.
    verdicts.decide_escalation(check.id, lead, "keep", None, "A report of the threat, not the threat.")
    restored = [a.post_id for a in network("restore_post")]
    assert restored == [post_of(check).external_id]
    assert db.session.get(Cluster, check.cluster_id).paused_at is not None


def post_of(case: Case) -> Post:
    return db.session.get(Post, case.post_id)


def test_a_lead_reverses_a_clusters_verdict_for_every_copy(live_server, api, jurors, lead, make_user):
    verdict = remove(flood(api), jurors[:3])
    cluster_id = post("t0").cluster_id
    with pytest.raises(Forbidden):
        cluster_verdicts.reverse(cluster_id, jurors[0], "no")
    with pytest.raises(Conflict, match="Say why"):
        cluster_verdicts.reverse(cluster_id, lead, "   ")
    cluster_verdicts.reverse(cluster_id, lead, "The 'threat' was a line from a play.")
    assert {a.post_id for a in network("restore_post")} == {"t0", "t1", "t2", "t3"}
    assert all(post(f"t{n}").state == "restored" for n in range(4))
    assert db.session.scalar(select(func.count()).select_from(Strike).where(Strike.withdrawn_at.is_(None))) == 0
    with pytest.raises(Conflict, match="No removal stands"):
        cluster_verdicts.reverse(cluster_id, lead, "again")
    # No removal stands now: a new copy is not held.
    send(api, "after", THREAT, "a7")
    assert first_case("after").origin not in ("cluster", "confirm")
    assert db.session.scalar(select(func.count()).select_from(Verdict).where(
        Verdict.source_verdict_id == verdict.id)) == 3


def test_a_kept_post_shows_its_hidden_copies_again_and_tells_their_reporters(live_server, api, jurors):
    case = flood(api)
    serve(case.id, jurors[:3], "keep")
    verdict = db.session.scalar(select(Verdict).where(Verdict.case_id == case.id))
    assert verdict.outcome == "keep"
    assert db.session.get(Cluster, case.cluster_id).verdict_id is None
    assert network("remove_post") == []
    kept = db.session.scalars(select(Verdict).where(Verdict.source_verdict_id == verdict.id)).all()
    kept_posts = {db.session.get(Case, v.case_id).post.external_id for v in kept}
    assert {"t2", "t3"} <= kept_posts and "quote" not in kept_posts
    assert {"bob", "cy"} <= {a.account_id for a in network("notify")}
    # Every copy hidden in the interim is shown again.
    hidden = {a.post_id for a in network("hide_post")} - {"quote"}
    assert hidden <= {a.post_id for a in network("unhide_post")}


def test_a_huge_cluster_is_decided_a_chunk_per_transaction_and_nothing_is_missed(live_server, api, jurors, monkeypatch):
    monkeypatch.setattr(cluster_verdicts, "CHUNK", 3)
    monkeypatch.setattr(cluster_verdicts, "MAX_CHUNKS", 2)
    case = flood(api)
    for n in range(4, 14):
        send(api, f"t{n}", THREAT + " " * n, f"a{n}")  # ten more identical copies
    verdict = remove(case, jurors[:3])
    decided = db.session.scalar(select(func.count()).select_from(Verdict).where(
        Verdict.source_verdict_id == verdict.id))
    assert decided == 13
    assert len({a.post_id for a in network("remove_post")}) == 14
    assert db.session.scalar(select(func.count()).select_from(Action).where(Action.state == "dead")) == 0


def test_the_leads_cluster_page_reverses_and_resumes_and_keeps_a_missing_reason_at_its_field(
        live_server, api, jurors, lead, auth, client):
    set_clusters(spot_check_share=1.0)
    remove(flood(api), jurors[:3])
    cluster_id = post("t0").cluster_id
    serve(db.session.scalars(select(Case.id).where(Case.origin == "spot_check")).first(), jurors[5:6], "keep")
    auth.login(jurors[0].username)
    assert client.get(f"/lead/clusters/{cluster_id}").status_code == 403
    auth.logout()
    auth.login(lead.username)
    page = client.get(f"/lead/clusters/{cluster_id}").get_data(as_text=True)
    assert "4 posts" in page and 'id="paused"' in page and "Violence" in page
    assert "council_smith" in page and "a1" in page  # members with their authors' links
    # A reversal without a reason is refused at its field; nothing changes.
    answer = client.post(f"/lead/clusters/{cluster_id}/reverse", data={"reason": "  "})
    assert answer.status_code == 400 and 'id="reason-error"' in answer.get_data(as_text=True)
    assert db.session.get(Cluster, cluster_id).verdict_id is not None
    assert client.post(f"/lead/clusters/{cluster_id}/resume").status_code == 302
    db.session.expire_all()
    assert db.session.get(Cluster, cluster_id).paused_at is None
    assert client.post(f"/lead/clusters/{cluster_id}/resume").status_code == 409  # not paused now
    answer = client.post(f"/lead/clusters/{cluster_id}/reverse", data={"reason": "<b>A line from a play</b>"},
                         follow_redirects=True)
    assert answer.status_code == 200 and "Reversed" in answer.get_data(as_text=True)
    assert "Reversed by a lead" in answer.get_data(as_text=True)
    assert {a.post_id for a in network("restore_post")} >= {"t0", "t1", "t2", "t3"}
    assert client.get("/lead/clusters/999999").status_code == 404


@pytest.mark.postgres
def test_reports_on_two_copies_at_once_open_one_case_for_their_cluster(pg_app, monkeypatch):
    """Two report batches, each on a different copy of one unreported post, in two transactions at
    the same moment: the cluster's lock makes the second wait and join the first one's case."""
    set_clusters()
    intake.ingest_posts([PostIn(id=f"m{n}", author_id=f"a{n}", text=LAWFUL + " " * n) for n in range(2)])
    assert len({post(f"m{n}").cluster_id for n in range(2)} - {None}) == 1
    start = threading.Barrier(2, timeout=30)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        with pg_app.app_context():
            try:
                start.wait()
                intake.ingest_reports([ReportIn(id=f"r{n}", post_id=f"m{n}", reporter_id=f"x{n}", reason="spam")])
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    real = cases.reports_of

    def slow_reports(ids):
        time.sleep(0.3)  # the first batch holds its cluster's lock a while: the second must wait for it
        return real(ids)

    monkeypatch.setattr(cases, "reports_of", slow_reports)
    threads = [threading.Thread(target=send, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    db.session.expire_all()
    [case] = db.session.scalars(select(Case).where(Case.review_round == 0)).all()
    assert case.report_count == 2 and case.cluster_id == post("m0").cluster_id


def test_a_cluster_of_100000_shows_its_first_members_and_its_exact_size(api, lead, auth, client):
    set_clusters()
    send(api, "big0", THREAT, "a0")
    api.posts(post_payload("hostile", "\u202e<script>alert(1)</script> " + THREAT, author="<img src=x>"))
    for n in range(1, 120):
        api.posts(post_payload(f"big{n}", THREAT + " " * (n % 7), author=f"a{n}"))
    cluster = db.session.get(Cluster, post("big0").cluster_id)
    cluster.member_count = 100_000
    db.session.commit()
    auth.login(lead.username)
    page = client.get(f"/lead/clusters/{cluster.id}").get_data(as_text=True)
    assert "100000 posts" in page and "(the first 100)" in page
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<img src=x>" not in page
    assert page.count('<td class="text">') == 100


def test_a_lost_application_is_queued_again_by_the_sweeper(live_server, api, jurors, monkeypatch):
    from datetime import timedelta

    real_defer = jobs.defer

    def lose_cluster_jobs(queue, name, *args):
        if name != cluster_verdicts.APPLY_JOB:
            real_defer(queue, name, *args)

    monkeypatch.setattr(jobs, "defer", lose_cluster_jobs)
    verdict = remove(flood(api), jurors[:3])
    assert db.session.scalar(select(func.count()).select_from(Verdict).where(
        Verdict.source_verdict_id == verdict.id)) == 0  # the job never ran
    monkeypatch.setattr(jobs, "defer", real_defer)
    assert cluster_verdicts.requeue_lost() == 0  # not lost yet: it may still be on its way
    later = utcnow() + jobs.lost_after() + timedelta(seconds=1)
    assert cluster_verdicts.requeue_lost(later) == 1
    assert db.session.scalar(select(func.count()).select_from(Verdict).where(
        Verdict.source_verdict_id == verdict.id)) == 3
    assert cluster_verdicts.requeue_lost(later) == 0  # nothing waits now
    assert sweeper.sweep()["requeued_cluster_verdicts"] == 0


def test_a_lost_keep_is_queued_again_by_the_sweeper(live_server, api, jurors, monkeypatch):
    """A kept cluster's job lost: its reported copies' reporters are not told, its hidden copies stay
    hidden, until the sweeper queues the job again; then as if it had never been lost, and only once."""
    real_defer = jobs.defer

    def lose_cluster_jobs(queue, name, *args):
        if name != cluster_verdicts.APPLY_JOB:
            real_defer(queue, name, *args)

    # Out of the critical lane (which hides the case's own post only), a copy the model rates over the
    # interim-hide threshold is hidden on its cluster's case until the verdict.
    publish_policy({**current_policy(fresh=True).settings, "clusters": {"enabled": True},
                    "critical": {"threat_score": 1.0, "reporters": 0}}, reason="test", actor="test")
    db.session.commit()
    monkeypatch.setattr(jobs, "defer", lose_cluster_jobs)
    case = flood(api)
    serve(case.id, jurors[:3], "keep")
    verdict = db.session.scalar(select(Verdict).where(Verdict.case_id == case.id))
    assert verdict.outcome == "keep"
    hidden = {a.post_id for a in network("hide_post")} - {"quote"}
    copies = hidden - {"t0"}  # the kept post itself is shown again by its own decision
    assert copies and not copies & {a.post_id for a in network("unhide_post")}  # still hidden
    assert not {"bob", "cy"} & {a.account_id for a in network("notify")}  # the job never ran
    monkeypatch.setattr(jobs, "defer", real_defer)
    assert cluster_verdicts.requeue_lost() == 0  # not lost yet: it may still be on its way
    later = utcnow() + jobs.lost_after() + timedelta(seconds=1)
    assert cluster_verdicts.requeue_lost(later) == 1
    kept = db.session.scalars(select(Verdict).where(Verdict.source_verdict_id == verdict.id)).all()
    assert {"t2", "t3"} <= {db.session.get(Case, v.case_id).post.external_id for v in kept}
    assert {"bob", "cy"} <= {a.account_id for a in network("notify")}
    assert hidden <= {a.post_id for a in network("unhide_post")}  # every copy hidden meanwhile is shown again
    told, shown = len(network("notify")), len(network("unhide_post"))
    assert cluster_verdicts.requeue_lost(later) == 0  # nothing waits now
    assert cluster_verdicts.apply_job(verdict.id) == 0  # and a job run twice does nothing twice
    assert (len(network("notify")), len(network("unhide_post"))) == (told, shown)
    assert sweeper.sweep()["requeued_cluster_verdicts"] == 0


def test_a_copys_spot_check_and_appeal_go_to_jurors_who_did_not_decide_its_cluster(live_server, api, jurors):
    set_clusters(spot_check_share=1.0)
    verdict = remove(flood(api), jurors[:3])
    check = db.session.scalars(select(Case).where(Case.origin == "spot_check")).first()
    policy = current_policy()
    for juror in jurors[:3]:
        assert "cluster_panel" in {reason.code for reason in exclusions.explain(check, juror, policy)}
        assert all(a.case_id not in {c.id for c in db.session.scalars(select(Case).where(Case.origin == "spot_check"))}
                   for a in [dealing.deal_next(juror)] if a is not None)
    assert "cluster_panel" not in {reason.code for reason in exclusions.explain(check, jurors[3], policy)}
    member = db.session.scalar(select(Verdict).where(Verdict.source_verdict_id == verdict.id))
    appeal = appeals.file_appeal(member.id, db.session.get(Case, member.case_id).post.author_id, "Look again.",
                                 channel="link", actor="appellant")
    appeal_case = db.session.get(Case, appeal.appeal_case_id)
    assert "cluster_panel" in {reason.code for reason in exclusions.explain(appeal_case, jurors[0], policy)}


def test_a_lost_reversal_is_queued_again_by_the_sweeper(live_server, api, jurors, lead, monkeypatch):
    remove(flood(api), jurors[:3])
    real_defer = jobs.defer

    def lose_reversals(queue, name, *args):
        if name != cluster_verdicts.REVERSE_JOB:
            real_defer(queue, name, *args)

    monkeypatch.setattr(jobs, "defer", lose_reversals)
    cluster_verdicts.reverse(post("t0").cluster_id, lead, "A line from a play.")
    assert network("restore_post") == []  # the job never ran
    monkeypatch.setattr(jobs, "defer", real_defer)
    assert cluster_verdicts.requeue_lost() == 0  # not lost yet
    later = utcnow() + jobs.lost_after() + timedelta(seconds=1)
    assert cluster_verdicts.requeue_lost(later) == 1
    assert {a.post_id for a in network("restore_post")} == {"t0", "t1", "t2", "t3"}
    assert all("A line from a play." in a.payload["statement_of_reasons"] for a in network("restore_post"))
    assert cluster_verdicts.requeue_lost(later) == 0
    assert sweeper.sweep()["requeued_cluster_verdicts"] == 0


def test_a_threat_in_the_critical_lane_hides_its_copies_at_once_and_later_ones_as_they_come(live_server, api,
                                                                                           jurors):
    case = flood(api)  # two reporters of a violent threat: the cluster's case is in the critical lane
    db.session.refresh(case)
    assert case.critical_at is not None
    hides = network("hide_post")
    assert {"t0", "t1", "t2", "t3"} <= {a.post_id for a in hides}
    # The quote is not a copy: whatever its own score does, nothing on the cluster's case touches it.
    assert db.session.scalar(select(Action.id).where(Action.case_id == case.id,
                                                     Action.post_external_id == "quote")) is None
    copy_hide = next(a for a in hides if a.post_id == "t1")
    assert "near-copy" in copy_hide.payload["statement_of_reasons"]
    # A copy posted later opens no case of its own and is hidden as it arrives, on the cluster's case.
    send(api, "t4", COPIES[0] + " !!", "a4")
    assert first_case("t4") is None
    assert "t4" in {a.post_id for a in network("hide_post")}
    assert db.session.scalar(select(Action.case_id).where(Action.type == "hide_post",
                                                          Action.post_external_id == "t4")) == case.id
    # Nothing is hidden twice, and the verdict removes every copy it hid.
    hidden = [a.post_id for a in network("hide_post")]
    assert len(hidden) == len(set(hidden))
    remove(case, jurors[:3])
    assert {"t0", "t1", "t2", "t3", "t4"} <= {a.post_id for a in network("remove_post")}


def test_a_big_clusters_copies_are_hidden_a_chunk_per_transaction(live_server, api, jurors, monkeypatch):
    monkeypatch.setattr(critical, "COPIES_AT_ONCE", 2)
    for n in range(5):
        send(api, f"c{n}", COPIES[n % 3] + " " + "!" * n, f"b{n}")
    send(api, "t0", THREAT, "a0")
    report(api, "t0", "ann")
    report(api, "t0", "bob")
    case = db.session.scalar(select(Case).where(Case.cluster_id == post("t0").cluster_id, Case.review_round == 0))
    assert case.critical_at is not None and first_case("t0") is None
    # Two in the lane's own transaction, the rest by the job (inline here), none twice.
    hidden = [a.post_id for a in network("hide_post")]
    assert sorted(hidden) == ["c0", "c1", "c2", "c3", "c4", "t0"]
