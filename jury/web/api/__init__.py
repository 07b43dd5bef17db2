"""/api/v1: the signed API the network calls, one blueprint over three modules."""
from __future__ import annotations

from jury.web.api import appeal_relay, intake_views, mastodon_webhook
from jury.web.api.api_blueprint import bp

__all__ = ["appeal_relay", "bp", "intake_views", "mastodon_webhook"]
