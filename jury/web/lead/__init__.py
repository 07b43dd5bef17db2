"""/lead: the lead console, one blueprint whose views live in four modules by what a lead does."""
from __future__ import annotations

from jury.web.lead import cases, insight, people, policy
from jury.web.lead.blueprint import bp

__all__ = ["bp", "cases", "insight", "people", "policy"]
