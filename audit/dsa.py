"""The EU DSA Transparency Database statement of reasons, with the database's field rules.

Field names, allowed values and limits follow the statement API (schema in force since
1 July 2025); every statement is validated here before an export is written.
"""
from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

Visibility = Literal[
    "DECISION_VISIBILITY_CONTENT_REMOVED", "DECISION_VISIBILITY_CONTENT_DISABLED",
    "DECISION_VISIBILITY_CONTENT_DEMOTED", "DECISION_VISIBILITY_CONTENT_AGE_RESTRICTED",
    "DECISION_VISIBILITY_CONTENT_INTERACTION_RESTRICTED", "DECISION_VISIBILITY_CONTENT_LABELLED",
    "DECISION_VISIBILITY_OTHER",
]
AccountDecision = Literal["DECISION_ACCOUNT_SUSPENDED", "DECISION_ACCOUNT_TERMINATED"]
Ground = Literal["DECISION_GROUND_ILLEGAL_CONTENT", "DECISION_GROUND_INCOMPATIBLE_CONTENT"]
ContentType = Literal[
    "CONTENT_TYPE_TEXT", "CONTENT_TYPE_IMAGE", "CONTENT_TYPE_VIDEO", "CONTENT_TYPE_AUDIO",
    "CONTENT_TYPE_SYNTHETIC_MEDIA", "CONTENT_TYPE_PRODUCT", "CONTENT_TYPE_APP", "CONTENT_TYPE_OTHER",
]
CATEGORIES = (
    "ANIMAL_WELFARE", "CONSUMER_INFORMATION", "CYBER_VIOLENCE", "CYBER_VIOLENCE_AGAINST_WOMEN",
    "DATA_PROTECTION_AND_PRIVACY_VIOLATIONS", "ILLEGAL_OR_HARMFUL_SPEECH", "INTELLECTUAL_PROPERTY_INFRINGEMENTS",
    "NEGATIVE_EFFECTS_ON_CIVIC_DISCOURSE_OR_ELECTIONS", "NOT_SPECIFIED_NOTICE", "OTHER_VIOLATION_TC",
    "PROTECTION_OF_MINORS", "RISK_FOR_PUBLIC_SECURITY", "SCAMS_AND_FRAUD", "SELF_HARM",
    "UNSAFE_AND_PROHIBITED_PRODUCTS", "VIOLENCE",
)
Category = Literal[tuple(f"STATEMENT_CATEGORY_{name}" for name in CATEGORIES)]  # type: ignore[valid-type]
SourceType = Literal["SOURCE_ARTICLE_16", "SOURCE_TRUSTED_FLAGGER", "SOURCE_TYPE_OTHER_NOTIFICATION",
                     "SOURCE_VOLUNTARY"]
AutomatedDecision = Literal["AUTOMATED_DECISION_FULLY", "AUTOMATED_DECISION_PARTIALLY",
                            "AUTOMATED_DECISION_NOT_AUTOMATED"]
# EU and EEA member states (ISO 3166-1 alpha-2).
EEA = ("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU", "IE", "IT", "LT",
       "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK", "IS", "LI", "NO")
Puid = Annotated[str, StringConstraints(min_length=1, max_length=500, pattern=r"^[A-Za-z0-9_-]+$")]


def _text(limit: int):
    return Annotated[str, StringConstraints(min_length=1, max_length=limit)]


class DsaStatement(BaseModel):
    """One statement of reasons as the Transparency Database's API accepts it."""

    model_config = ConfigDict(extra="forbid")

    decision_visibility: list[Visibility] | None = Field(default=None, min_length=1)
    decision_visibility_other: _text(500) | None = None
    decision_monetary: str | None = None
    decision_provision: str | None = None
    decision_account: AccountDecision | None = None
    decision_ground: Ground
    illegal_content_legal_ground: _text(500) | None = None
    illegal_content_explanation: _text(2000) | None = None
    incompatible_content_ground: _text(500) | None = None
    incompatible_content_explanation: _text(2000) | None = None
    decision_facts: _text(5000)
    content_type: list[ContentType] = Field(min_length=1)
    content_language: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None
    content_date: date
    application_date: date
    category: Category
    territorial_scope: list[str] | None = None
    source_type: SourceType
    automated_detection: Literal["Yes", "No"]
    automated_decision: AutomatedDecision
    puid: Puid

    @field_validator("content_date")
    @classmethod
    def _content_date(cls, value: date) -> date:
        if value < date(2000, 1, 1):
            raise ValueError("content_date must be on or after 2000-01-01")
        return value

    @field_validator("application_date")
    @classmethod
    def _application_date(cls, value: date) -> date:
        if value < date(2020, 1, 1):
            raise ValueError("application_date must be on or after 2020-01-01")
        return value

    @field_validator("territorial_scope")
    @classmethod
    def _scope(cls, value: list[str] | None) -> list[str] | None:
        for code in value or []:
            if code not in EEA:
                raise ValueError(f"{code!r} is not an EU/EEA country code")
        return value

    @model_validator(mode="after")
    def _rules_across_fields(self) -> DsaStatement:
        if not any((self.decision_visibility, self.decision_monetary, self.decision_provision,
                    self.decision_account)):
            raise ValueError("at least one of decision_visibility, decision_monetary, decision_provision, "
                             "decision_account is required")
        if self.decision_visibility and "DECISION_VISIBILITY_OTHER" in self.decision_visibility \
                and not self.decision_visibility_other:
            raise ValueError("decision_visibility_other is required with DECISION_VISIBILITY_OTHER")
        if self.decision_ground == "DECISION_GROUND_ILLEGAL_CONTENT":
            if not (self.illegal_content_legal_ground and self.illegal_content_explanation):
                raise ValueError("illegal content needs illegal_content_legal_ground and illegal_content_explanation")
        elif not (self.incompatible_content_ground and self.incompatible_content_explanation):
            raise ValueError("incompatible content needs incompatible_content_ground and "
                             "incompatible_content_explanation")
        return self

    def payload(self) -> dict:
        """The JSON body of one statement, without unset fields."""
        return self.model_dump(mode="json", exclude_none=True)


def json_schema() -> dict:
    """The JSON Schema of a statement (for readers who validate the file themselves)."""
    return DsaStatement.model_json_schema()
