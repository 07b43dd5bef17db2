"""/lead: the lead console, one blueprint whose views live in seven modules by what a lead does."""
from __future__ import annotations

from jury.web.lead import (
    account_views,
    cluster_views,
    insight_views,
    oncall_views,
    people_views,
    policy_views,
    queue_views,
)
from jury.web.lead.lead_blueprint import bp

__all__ = ["account_views", "bp", "cluster_views", "insight_views", "oncall_views", "people_views", "policy_views",
           "queue_views"]
