"""The policy's `clusters` group: checked when published, and read with its defaults from older versions."""
from __future__ import annotations

import pytest

from triage.policy import DEFAULT_SETTINGS, PolicyError, PolicyInForce, current_policy, validate_settings

pytestmark = pytest.mark.clusters


@pytest.mark.parametrize(("group", "message"), [
    ({"enabled": True, "similarity": 0.4}, "clusters.similarity must be a number from 0.5 to 1"),
    ({"enabled": True, "similarity": 1.5}, "clusters.similarity must be a number from 0.5 to 1"),
    ({"enabled": True, "similarity": "high"}, "clusters.similarity must be a number"),
    ({"enabled": True, "similarity": True}, "clusters.similarity must be a number"),
    ({"enabled": "yes", "similarity": 0.6}, "clusters.enabled must be true or false"),
    ({"enabled": True, "similarity": 0.6, "shingle": 3}, "clusters may hold only enabled, similarity"),
    ([0.6], "clusters may hold only enabled, similarity"),
    ({"enabled": True, "similarity": 0.7, "auto_remove_similarity": 0.65},
     "clusters.auto_remove_similarity must be from clusters.similarity to 1"),
    ({"enabled": True, "similarity": 0.7, "auto_remove_similarity": 1.01},
     "clusters.auto_remove_similarity must be from clusters.similarity to 1"),
    ({"enabled": True, "similarity": 0.7, "spot_check_share": -0.1}, "clusters.spot_check_share must be from 0 to 1"),
    ({"enabled": True, "similarity": 0.7, "spot_check_share": "some"}, "clusters.spot_check_share must be a number"),
])
def test_the_cluster_settings_are_checked(group, message):
    with pytest.raises(PolicyError, match=message):
        validate_settings({"clusters": group})


def test_the_cluster_settings_default_on_and_old_versions_read_the_defaults(app):
    checked = validate_settings({"clusters": {"enabled": True, "similarity": 1}})["clusters"]
    # A removal is applied without a juror only at the joining similarity or above it.
    assert checked == {"enabled": True, "similarity": 1, "auto_remove_similarity": 1, "spot_check_share": 0.05}
    policy = current_policy()
    assert policy.clustering and policy.cluster_similarity == DEFAULT_SETTINGS["clusters"]["similarity"] == 0.6
    older = PolicyInForce(1, {k: v for k, v in DEFAULT_SETTINGS.items() if k != "clusters"})
    assert older.clustering and older.cluster_similarity == 0.6
    # A version published when the group had two settings reads the later two at their defaults.
    two = PolicyInForce(2, {**DEFAULT_SETTINGS, "clusters": {"enabled": False, "similarity": 0.7}})
    assert not two.clustering and two.cluster_settings["auto_remove_similarity"] == 0.8
