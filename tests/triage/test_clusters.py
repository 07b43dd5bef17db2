"""Intake puts every new post in a near-duplicate cluster: copies together, quotes and lawful posts apart."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from models import AuditEvent, Cluster, ClusterBand, Post, db
from tests.conftest import post_payload, report_payload
from triage import clusters, fingerprint, intake
from triage.policy import current_policy, publish_policy
from triage.schemas import PostIn, ReportIn

pytestmark = pytest.mark.clusters

THREAT = ("I know where you live @mayor_jones. Tonight I will come to your house and kill you and your "
          "family. Nobody will stop me.")
COPIES = [
    THREAT.replace("o", "о").replace("e", "е"),  # Cyrillic homoglyphs
    "\u200b".join(THREAT),  # a zero-width space between every character
    THREAT.replace("@mayor_jones", "@council_smith") + " 🔪🔪 #justice",
    " ".join(THREAT),  # spaced out
    THREAT.replace("Tonight", "Tomorrow"),
]
QUOTE = (f'Someone just posted this at our mayor: "{THREAT}" This is disgusting and criminal. I reported it to '
         "the police and so should you. Threats like this have no place in our town.")


def posts_by_id() -> dict[str, Post]:
    db.session.expire_all()
    return {post.external_id: post for post in db.session.scalars(select(Post))}


def all_clusters() -> list[Cluster]:
    return list(db.session.scalars(select(Cluster).order_by(Cluster.id)))


def set_clusters(**group) -> None:
    """Publish these cluster settings (the others at their defaults; removal without a juror from the
    joining similarity up, at least)."""
    publish_policy({**current_policy(fresh=True).settings, "clusters": {"enabled": True, **group}},
                   reason="test", actor="test")
    db.session.commit()


def test_copies_dressed_to_dodge_matching_join_the_first_posts_cluster(api):
    assert api.posts(post_payload("orig", THREAT, author="a0")).status_code == 202
    for index, text in enumerate(COPIES):
        api.posts(post_payload(f"copy{index}", text, author=f"a{index + 1}"))
    posts = posts_by_id()
    [cluster] = all_clusters()
    assert {post.cluster_id for post in posts.values()} == {cluster.id}
    assert cluster.representative_post_id == posts["orig"].id
    assert cluster.member_count == 1 + len(COPIES)
    assert cluster.last_seen_at >= cluster.created_at
    assert posts["orig"].cluster_similarity == 1.0
    assert all(0.6 <= posts[f"copy{i}"].cluster_similarity <= 1.0 for i in range(len(COPIES)))
    # The evasions that only dress the text up leave its exact fingerprint as it was.
    assert posts["copy0"].fingerprint == posts["copy1"].fingerprint == posts["orig"].fingerprint
    assert posts["copy4"].fingerprint != posts["orig"].fingerprint
    assert cluster.fingerprint == posts["orig"].fingerprint
    assert db.session.scalar(select(func.count()).select_from(ClusterBand)) == fingerprint.BANDS


def test_copies_in_one_batch_share_a_cluster_and_its_count(api):
    api.posts(*[post_payload(f"p{i}", text, author=f"a{i}") for i, text in enumerate([THREAT, *COPIES])])
    [cluster] = all_clusters()
    assert cluster.member_count == 1 + len(COPIES)
    assert cluster.representative_post_id == posts_by_id()["p0"].id


def test_a_threat_quoted_in_counter_speech_and_a_lawful_post_start_clusters_of_their_own(api):
    api.posts(post_payload("threat", THREAT), post_payload("quote", QUOTE),
              post_payload("weather", "The weather in the city is lovely today, we walked by the river."))
    api.posts(post_payload("copy", COPIES[0]))
    posts = posts_by_id()
    assert len({posts[name].cluster_id for name in ("threat", "quote", "weather")}) == 3
    assert posts["copy"].cluster_id == posts["threat"].cluster_id
    assert [c.member_count for c in all_clusters()] == [2, 1, 1]


def test_a_resent_post_is_counted_once(api):
    api.posts(post_payload("p1", THREAT))
    response = api.posts(post_payload("p1", THREAT), post_payload("p2", COPIES[0]))
    assert response.get_json()["duplicates"] == 1
    assert [c.member_count for c in all_clusters()] == [2]


def test_a_report_carrying_its_post_clusters_it(api):
    api.posts(post_payload("p1", THREAT))
    api.reports(report_payload("r1", "p2", reason="violence_threat", post=post_payload("p2", COPIES[2])))
    posts = posts_by_id()
    assert posts["p2"].cluster_id == posts["p1"].cluster_id is not None


def test_texts_too_short_to_match_get_a_fingerprint_and_no_cluster(api):
    api.posts(post_payload("p1", "🔪🔪"), post_payload("p2", "ok"), post_payload("p3", "🔪 🔪"))
    posts = posts_by_id()
    assert all(post.cluster_id is None and post.fingerprint for post in posts.values())
    assert posts["p1"].fingerprint == posts["p3"].fingerprint
    assert all_clusters() == []


def test_the_policy_similarity_decides_how_close_a_copy_must_be(api):
    edited = THREAT.replace("Tonight", "Tomorrow").replace("family", "kids")
    set_clusters(similarity=0.95)
    api.posts(post_payload("p1", THREAT), post_payload("p2", edited), post_payload("p3", COPIES[1]))
    posts = posts_by_id()
    assert posts["p2"].cluster_id != posts["p1"].cluster_id == posts["p3"].cluster_id
    set_clusters(similarity=0.6)
    api.posts(post_payload("p4", edited.replace("Nobody", "No one")))
    posts = posts_by_id()
    # The most similar cluster wins: the edited copy's own, not the original's.
    assert posts["p4"].cluster_id == posts["p2"].cluster_id


def test_clustering_switched_off_stores_posts_as_before(api):
    set_clusters(enabled=False)
    api.posts(post_payload("p1", THREAT), post_payload("p2", COPIES[0]))
    assert all(post.cluster_id is None and post.fingerprint is None for post in posts_by_id().values())
    assert all_clusters() == []


def test_each_batch_records_which_cluster_each_new_post_joined(api):
    api.posts(post_payload("p1", THREAT))
    api.posts(post_payload("p2", COPIES[0]), post_payload("p3", QUOTE))
    posts = posts_by_id()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == "posts_clustered")
                                .order_by(AuditEvent.id)).all()
    assert len(events) == 2
    first, second = (posts[name].cluster_id for name in ("p1", "p3"))
    assert events[1].payload == {"joined": {str(first): ["p2"]}, "new_clusters": [second]}


def test_a_large_cluster_still_matches_by_its_representative(api):
    api.posts(*[post_payload(f"p{i}", f"{THREAT} #{i % 7}", author=f"a{i}") for i in range(300)])
    [cluster] = all_clusters()
    assert cluster.member_count == 300
    assert db.session.scalar(select(func.count()).select_from(Post).where(Post.cluster_id == cluster.id)) == 300


# --- two copies at once, on PostgreSQL ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize(("texts", "carried"), [
    ([THREAT, THREAT], False), ([THREAT, COPIES[0], COPIES[2], COPIES[4]], False), ([THREAT, THREAT], True)],
    ids=["two identical copies scored at once", "four near-copies scored at once", "one post carried by two reports"])
def test_copies_arriving_at_once_in_separate_transactions_end_in_one_cluster(pg_app, monkeypatch, texts, carried):
    """Each transaction reads the clusters before any of them stores one (held at a barrier), so each
    finds none: the band keys' unique index makes them wait for each other, and the later ones match
    again. Posts are clustered by the scoring job (each job here scores one post), and a post a report
    carries at intake."""
    if not carried:
        # Stored first, unscored: each thread's scoring job then clusters its own post.
        monkeypatch.setattr(intake, "_defer_scoring", lambda ids: None)
        intake.ingest_posts([PostIn(id=f"race{n}", author_id=f"a{n}", text=text) for n, text in enumerate(texts)])
        ids = dict(db.session.execute(select(Post.external_id, Post.id)).all())
    start = threading.Barrier(len(texts), timeout=30)
    read = threading.Barrier(len(texts), timeout=30)
    first_read = threading.local()
    real = clusters._candidates
    reads: list[int] = []

    def candidates_then_wait(matchable):
        found = real(matchable)
        reads.append(1)
        if not getattr(first_read, "done", False):
            first_read.done = True
            read.wait()  # every transaction has matched against the same (empty) store
        return found

    monkeypatch.setattr(clusters, "_candidates", candidates_then_wait)
    errors: list[BaseException] = []

    def send(n: int) -> None:
        with pg_app.app_context():
            try:
                start.wait()
                if carried:
                    intake.ingest_reports([ReportIn(id=f"r{n}", post_id="race", reporter_id=f"r{n}", reason="spam",
                                                    post=PostIn(id="race", author_id=f"a{n}", text=texts[n]))])
                else:
                    intake.score_posts([ids[f"race{n}"]])
            except BaseException as error:  # noqa: BLE001 - reported by the assertion below
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(len(texts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert errors == []
    assert len(reads) > len(texts)  # the later transactions matched again
    [cluster] = all_clusters()
    posts = posts_by_id()
    assert len(posts) == cluster.member_count == (1 if carried else len(texts))
    assert {post.cluster_id for post in posts.values()} == {cluster.id}
    assert cluster.representative_post_id in {post.id for post in posts.values()}
    assert db.session.scalar(select(func.count()).select_from(ClusterBand).where(
        ClusterBand.cluster_id != cluster.id)) == 0
