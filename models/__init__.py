"""SQLAlchemy 2.0 typed models, one module per aggregate, the database handle, the rules and the SQL helpers."""
from models.account import ACCOUNT_STATES, Account, Strike
from models.action import ACTION_STATES, Action
from models.appeal import APPEAL_CHANNELS, APPEAL_STATES, Appeal
from models.audit import AuditEvent
from models.base import Base, utcnow
from models.case import (
    ASSIGNMENT_STATES,
    CASE_ORIGINS,
    CASE_STATES,
    DECISIONS,
    OPEN_CASE_STATES,
    VERDICT_METHODS,
    VOTES_SHOWN_STATES,
    Assignment,
    Case,
    Verdict,
    Vote,
    VoteDisclosure,
)
from models.cluster import Cluster, ClusterBand
from models.database import db
from models.lead import JurorInvite, MutedReporter, ShadowDecision, ShadowPolicy
from models.panel import AccountLink, GoldAnswer, RelationshipCheck
from models.policy_version import Policy
from models.post import POST_STATES, Post, Report, Score
from models.reliability import JurorReliability, ReliabilityRun
from models.sandbox import SandboxAction, SandboxFollow, SandboxPost
from models.security import SignatureNonce
from models.sync import SyncCursor
from models.user import LOCALES, ROLES, USER_STATES, User

__all__ = [
    "APPEAL_CHANNELS", "APPEAL_STATES", "Appeal",
    "ACCOUNT_STATES", "ACTION_STATES", "ASSIGNMENT_STATES", "CASE_ORIGINS", "CASE_STATES", "DECISIONS", "LOCALES",
    "OPEN_CASE_STATES", "POST_STATES", "ROLES", "USER_STATES", "VERDICT_METHODS", "VOTES_SHOWN_STATES",
    "Account", "AccountLink", "Action", "Assignment", "AuditEvent", "Base", "Case", "Cluster", "ClusterBand",
    "GoldAnswer", "JurorInvite",
    "JurorReliability", "MutedReporter", "Policy", "Post", "RelationshipCheck", "ReliabilityRun", "Report",
    "SandboxAction", "SandboxFollow", "SandboxPost", "Score", "ShadowDecision", "ShadowPolicy", "SignatureNonce",
    "Strike", "SyncCursor",
    "User",
    "Verdict", "Vote", "VoteDisclosure", "db", "utcnow",
]
