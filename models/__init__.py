"""SQLAlchemy 2.0 typed models, one module per aggregate. No Flask here."""
from models.action import ACTION_STATES, Action
from models.audit import AuditEvent
from models.base import Base, utcnow
from models.case import (
    ASSIGNMENT_STATES,
    CASE_ORIGINS,
    CASE_STATES,
    DECISIONS,
    OPEN_CASE_STATES,
    VERDICT_METHODS,
    Assignment,
    Case,
    Verdict,
    Vote,
)
from models.policy import Policy
from models.post import POST_STATES, Post, Report, Score
from models.sandbox import SandboxAction, SandboxPost
from models.security import SignatureNonce
from models.user import ROLES, USER_STATES, User

__all__ = [
    "ACTION_STATES", "ASSIGNMENT_STATES", "CASE_ORIGINS", "CASE_STATES", "DECISIONS",
    "OPEN_CASE_STATES", "POST_STATES", "ROLES", "USER_STATES", "VERDICT_METHODS",
    "Action", "Assignment", "AuditEvent", "Base", "Case", "Policy", "Post", "Report",
    "SandboxAction", "SandboxPost", "Score", "SignatureNonce", "User", "Verdict", "Vote", "utcnow",
]
