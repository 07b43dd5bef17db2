"""Policy versions from the lead console: generated fields, publishing with a reason, diffs, roll-back, audit."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from jury.leads import policy_labels, policy_versions
from models import AuditEvent, Policy, db
from tests.conftest import PASSWORD
from triage.policy import DEFAULT_SETTINGS, PolicyError, current_policy


@pytest.fixture
def lead(app, client, make_user):
    """The client, logged in as a lead."""
    user = make_user("lead", role="lead")
    client.post("/login", data={"username": "lead", "password": PASSWORD})
    return user


def events(kind: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.event_type == kind).order_by(AuditEvent.id)))


def test_the_form_lists_every_setting_leaf(app, client, lead):
    """Each leaf of the settings tree is a field, so settings added later appear without template changes."""
    html = client.get("/lead/policy").get_data(as_text=True)
    for field in policy_versions.flatten(DEFAULT_SETTINGS):
        assert f'name="{field.name}"' in html, field.path
    assert 'name="s:auto_flag.toxicity" value="0.8"' in html


def test_nested_settings_of_any_shape_become_fields(app, monkeypatch):
    """A setting another release adds (nested dicts, strings, lists) is flattened and parsed back generically."""
    extra = {"example_method": "quorum", "example_caps": {"violence_threat": 20, "sexual": 30},
             "confidence": 0.9, "languages": ["en", "fr"]}
    monkeypatch.setitem(DEFAULT_SETTINGS, "example_method", "quorum")
    monkeypatch.setitem(DEFAULT_SETTINGS, "example_caps", extra["example_caps"])
    monkeypatch.setitem(DEFAULT_SETTINGS, "confidence", 0.9)
    monkeypatch.setitem(DEFAULT_SETTINGS, "languages", ["en", "fr"])
    base = policy_versions.editable_settings()
    paths = {f.path: f.kind for f in policy_versions.flatten(base)}
    assert paths["example_caps.sexual"] == "int" and paths["example_method"] == "str"
    assert paths["confidence"] == "float" and paths["languages"] == "json"
    edited = policy_versions.settings_from_form({
        "s:example_caps.sexual": "25", "s:example_method": "weighted", "s:languages": '["en"]'}, base)
    assert edited["example_caps"] == {"violence_threat": 20, "sexual": 25}
    assert edited["example_method"] == "weighted" and edited["languages"] == ["en"]
    # Booleans: a field left out keeps its value; the form's hidden "false" then checkbox "true" reads as true.
    from werkzeug.datastructures import MultiDict

    monkeypatch.setitem(DEFAULT_SETTINGS, "weighted_votes", True)
    base = policy_versions.editable_settings()
    assert policy_versions.settings_from_form({}, base)["weighted_votes"] is True
    unchecked = MultiDict([("s:weighted_votes", "false")])
    assert policy_versions.settings_from_form(unchecked, base)["weighted_votes"] is False
    assert policy_versions.settings_from_form(
        MultiDict([("s:weighted_votes", "false"), ("s:weighted_votes", "true")]), base)["weighted_votes"] is True


def test_publishing_needs_a_reason_and_valid_values(app, client, lead):
    """No reason, a threshold over 1 or a non-number: 400, the page says why, no new version."""
    assert client.post("/lead/policy", data={"s:auto_flag.toxicity": "0.7"}).status_code == 400
    response = client.post("/lead/policy", data={"reason": "tighter", "s:auto_flag.toxicity": "1.5"})
    assert response.status_code == 400 and "between 0 and 1" in response.get_data(as_text=True)
    response = client.post("/lead/policy", data={"reason": "x", "s:panel_size": "three"})
    assert response.status_code == 400 and "panel_size" in response.get_data(as_text=True)
    response = client.post("/lead/policy", data={"reason": "x", "s:auto_flag.toxicity": "nan"})
    assert response.status_code == 400
    response = client.post("/lead/policy", data={"reason": "x", "s:supermajority": "9" * 3000})
    assert response.status_code == 400
    assert current_policy().version == 1


def test_publish_then_roll_back(app, client, lead):
    """A change becomes version 2 with a diff in the history; rolling back to 1 makes version 3 = version 1."""
    response = client.post("/lead/policy", data={"reason": "fewer false flags", "s:auto_flag.toxicity": "0.9",
                                                 "s:panel_size": "5", "s:widened_panel_size": "7"})
    assert response.status_code == 302
    policy = current_policy()
    assert policy.version == 2 and policy.settings["auto_flag"]["toxicity"] == 0.9 and policy.panel_size == 5
    # Untouched settings keep their values.
    assert policy.settings["sla_hours"] == DEFAULT_SETTINGS["sla_hours"]
    history = client.get("/lead/policy/history").get_data(as_text=True)
    assert "fewer false flags" in history and "auto_flag.toxicity" in history
    assert [path for path, _, _ in policy_versions.history()[0].changes] == [
        "auto_flag.toxicity", "panel_size", "widened_panel_size"]

    assert client.post("/lead/policy/versions/1/rollback", data={"reason": ""}).status_code == 302
    assert current_policy().version == 2  # no reason, no roll-back
    assert client.post("/lead/policy/versions/1/rollback", data={"reason": "too many misses"}).status_code == 302
    policy = current_policy()
    assert policy.version == 3
    assert policy.settings == db.session.scalar(select(Policy.settings).where(Policy.version == 1))
    assert "roll back to version 1: too many misses" in db.session.scalar(
        select(Policy.reason).where(Policy.version == 3))
    assert [e.subject_id for e in events("policy_changed")] == ["2", "3"]
    assert events("policy_rolled_back")[0].payload == {"to_version": 1}
    assert client.get("/lead/policy/versions/2").status_code == 200
    assert client.get("/lead/policy/versions/99").status_code == 404
    assert client.post("/lead/policy/versions/99/rollback", data={"reason": "x"}).status_code == 404


def test_rollback_service_refuses_without_reason(app):
    """The service itself insists on a reason."""
    with pytest.raises(PolicyError):
        policy_versions.rollback(1, reason="  ", user_id=None)


def test_hostile_reason_is_escaped(app, client, lead):
    """A reason with markup shows as text in the history."""
    client.post("/lead/policy", data={"reason": "<script>alert(1)</script>", "s:lease_minutes": "12"})
    html = client.get("/lead/policy/history").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html


def test_shadow_run_from_the_policy_page_records_without_acting(app, client, lead, api):
    """A candidate with a low threshold runs in shadow: it would flag a post the real policy lets through."""
    from tests.conftest import post_payload

    # A shadow run has its own reason: the publishing one does not stand in for it.
    refused = client.post("/lead/policy", data={"reason": "try lower", "s:auto_flag.toxicity": "0.0",
                                                "shadow_name": "low", "shadow_days": "3", "shadow": "1"})
    assert refused.status_code == 400
    html = refused.get_data(as_text=True)
    assert 'id="shadow-reason-error">Say why' in html and 'name="s:auto_flag.toxicity" value="0.0"' in html
    response = client.post("/lead/policy", data={"shadow_reason": "try lower", "s:auto_flag.toxicity": "0.0",
                                                 "shadow_name": "low", "shadow_days": "3", "shadow": "1"})
    assert response.status_code == 302 and "/lead/shadow/" in response.headers["Location"]
    assert current_policy().version == 1  # nothing published
    assert api.posts(post_payload("p1", "What a lovely morning.")).status_code == 202
    from models import Case, ShadowDecision

    assert db.session.scalar(select(Case.id)) is None  # the real policy opened nothing
    decision = db.session.scalar(select(ShadowDecision))
    assert decision.would_flag and not decision.real_flag
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert '<td id="shadow-would">1</td>' in page and '<td id="shadow-real">0</td>' in page
    shadow_id = decision.shadow_id
    assert client.post(f"/lead/shadow/{shadow_id}/stop").status_code == 302
    assert api.posts(post_payload("p2", "Another calm day.")).status_code == 202
    assert db.session.scalar(select(ShadowDecision).where(ShadowDecision.post_id != decision.post_id)) is None
    assert [e.event_type for e in events("shadow_started") + events("shadow_stopped")] == [
        "shadow_started", "shadow_stopped"]


def test_the_policy_form_can_be_prefilled_from_a_link(app, client, lead):
    """The threshold page links to the policy form with the candidate filled in; nothing is published by it."""
    html = client.get("/lead/policy?s:auto_flag.toxicity=0.65").get_data(as_text=True)
    assert 'name="s:auto_flag.toxicity" value="0.65"' in html
    assert current_policy().version == 1


def test_every_setting_has_a_label_help_and_a_place(app):
    """The catalogue knows every default setting, so none shows under "Other settings" as a raw key."""
    for field in policy_versions.flatten(DEFAULT_SETTINGS):
        label = policy_labels.label_for(field.path)
        assert policy_labels.known(field.path) and label.help and label.label != field.path, field.path
    titles = [section.title for section in policy_versions.sections(DEFAULT_SETTINGS)]
    assert titles == ["What opens a case", "Who sits", "How a verdict is reached", "Strikes and account measures",
                      "Deadlines", "Models"]
    # A setting a later release adds and the catalogue does not know yet still shows, readably.
    assert policy_labels.label_for("new_thing.max_items").label == "New thing: max items"


def test_the_form_reads_as_words_with_help_units_and_choices(app, client, lead):
    html = client.get("/lead/policy").get_data(as_text=True)
    assert '<label for="s:panel_size">Panel size <span class="unit">(jurors)</span></label>' in html
    assert 'aria-describedby="help-panel_size"' in html and 'id="help-panel_size"' in html
    assert "Deadline: critical severity" in html and "Sla Hours" not in html
    assert html.index("What opens a case") < html.index("Who sits") < html.index("How a verdict is reached")
    assert '<select id="s:verdict_method" name="s:verdict_method"' in html
    assert '<option value="weighted" >Weighted by reliability</option>' in html


def test_each_error_shows_at_its_field_and_nothing_typed_is_lost(app, client, lead):
    response = client.post("/lead/policy", data={"reason": "bigger", "s:panel_size": "7",
                                                 "s:widened_panel_size": "5", "s:lease_minutes": "15"})
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    # Both settings the rule names are marked, each with the message beside it and linked from the summary.
    for slug in ("panel_size", "widened_panel_size"):
        assert f'aria-describedby="help-{slug} error-{slug}" aria-invalid="true"' in html
        assert f'<p class="field-error" id="error-{slug}">' in html
    assert '<a href="#s:panel_size">' in html and "Nothing was saved" in html
    assert 'name="s:panel_size" value="7"' in html and 'name="s:lease_minutes" value="15"' in html
    assert "bigger</textarea>" in html
    assert 'aria-invalid="true"' not in html.split('id="s:lease_minutes"')[1].split(">")[0]
    assert current_policy().version == 1


def test_every_unreadable_field_is_shown_at_once(app, client, lead):
    response = client.post("/lead/policy", data={"reason": "x", "s:panel_size": "three", "s:gold_share": "lots",
                                                 "s:auto_flag.toxicity": "0.5"})
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "2 things need fixing" in html
    assert 'id="error-panel_size">panel_size: &#39;three&#39; is not a valid int' in html
    assert 'id="error-gold_share">gold_share: &#39;lots&#39; is not a valid float' in html
