"""The policy's `clusters` group: checked when published, and read with its defaults from older versions."""
from __future__ import annotations

import pytest

from triage.policy import DEFAULT_SETTINGS, PolicyError, PolicyInForce, current_policy, validate_settings


@pytest.mark.parametrize(("group", "message"), [
    ({"enabled": True, "similarity": 0.4}, "clusters.similarity must be a number from 0.5 to 1"),
    ({"enabled": True, "similarity": 1.5}, "clusters.similarity must be a number from 0.5 to 1"),
    ({"enabled": True, "similarity": "high"}, "clusters.similarity must be a number from 0.5 to 1"),
    ({"enabled": True, "similarity": True}, "clusters.similarity must be a number from 0.5 to 1"),
    ({"enabled": "yes", "similarity": 0.6}, "clusters.enabled must be true or false"),
    ({"enabled": True}, "clusters must hold exactly enabled and similarity"),
    ({"enabled": True, "similarity": 0.6, "shingle": 3}, "clusters must hold exactly enabled and similarity"),
    ([0.6], "clusters must hold exactly enabled and similarity"),
])
def test_the_cluster_settings_are_checked(group, message):
    with pytest.raises(PolicyError, match=message):
        validate_settings({"clusters": group})


def test_the_cluster_settings_default_off_and_old_versions_read_the_defaults(app):
    assert validate_settings({"clusters": {"enabled": True, "similarity": 1}})["clusters"]["similarity"] == 1
    policy = current_policy()
    # Off until clustering leaves the intake request (it cost most of intake's speed there).
    assert not policy.clustering and policy.cluster_similarity == DEFAULT_SETTINGS["clusters"]["similarity"] == 0.6
    old = PolicyInForce(1, {k: v for k, v in DEFAULT_SETTINGS.items() if k != "clusters"})
    assert not old.clustering and old.cluster_similarity == 0.6
