"""Validation of intake payloads; errors name the offending field."""
from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    model_validator,
)

from models.account import DISPLAY_NAME_MAX_CHARS, HANDLE_MAX_CHARS
from models.rules import RULE_CODES

# External ids are opaque, but control characters in them only ever mean trouble in logs and UIs.
LANG_PATTERN = r"^[A-Za-z]{2,3}([-_][A-Za-z0-9]{1,8})*$"  # BCP 47-ish: en, fr, pt-BR
def _encodable(value: str) -> str:
    """JSON can spell lone surrogates (\\ud800); they are not text, and no database stores them."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


ExternalId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$"),
                       AfterValidator(_encodable)]


_URL_FORBIDDEN = re.compile(r"[\x00-\x20\x7f]")
# What _check_url accepts, published in the OpenAPI document (ECMA-262 regex, no flags).
URL_PATTERN = r"^[Hh][Tt][Tt][Pp][Ss]?://[^\x00-\x20\x7f]*$"


def _check_url(value: str | None) -> str | None:
    """Only http(s) links: a javascript: URL must never reach a juror's page."""
    if value is not None and not value.lower().startswith(("http://", "https://")):
        raise ValueError("must be an http or https URL")
    # Control characters and spaces are never part of a URL (and PostgreSQL cannot store NUL).
    if value is not None and _URL_FORBIDDEN.search(value):
        raise ValueError("must not contain spaces or control characters")
    return value


def _no_nul(value: object) -> object:
    """PostgreSQL text cannot hold NUL: keep the rest of the text and mark where it was."""
    return value.replace("\x00", "\ufffd") if isinstance(value, str) else value


UserText = Annotated[str, BeforeValidator(_no_nul), AfterValidator(_encodable)]
# A handle names an account in links and searches: one line of visible text, like an id.
Handle = Annotated[str, StringConstraints(min_length=1, max_length=HANDLE_MAX_CHARS, pattern=r"^[^\x00-\x1f\x7f]+$"),
                   AfterValidator(_encodable)]


def _check_reason(value: str) -> str:
    """Report reasons are the fixed rule codes."""
    if value not in RULE_CODES:
        raise ValueError(f"must be one of {', '.join(RULE_CODES)}")
    return value


class PostIn(BaseModel):
    """A post as the network sends it."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=False)

    id: ExternalId
    author_id: ExternalId
    text: UserText = Field(max_length=20_000)
    lang: Annotated[str, StringConstraints(max_length=16, pattern=LANG_PATTERN)] | None = None
    url: Annotated[str | None, Field(max_length=2048, json_schema_extra={"pattern": URL_PATTERN}),
                   AfterValidator(_check_url)] = None
    created_at: datetime | None = None
    author_handle: Handle | None = Field(
        default=None, description="The author's handle on the network (e.g. Mastodon's acct), when it has one.")
    author_display_name: UserText | None = Field(
        default=None, max_length=DISPLAY_NAME_MAX_CHARS, description="The author's display name, when the network "
        "sends one. A later post that carries a handle or display name updates the account's.")


class ReportIn(BaseModel):
    """A user's report of a post; it may carry the post itself."""

    model_config = ConfigDict(extra="ignore")

    id: ExternalId
    post_id: ExternalId
    reporter_id: ExternalId
    reason: Annotated[str, AfterValidator(_check_reason)]
    comment: UserText | None = Field(default=None, max_length=2000)
    post: PostIn | None = None

    @model_validator(mode="after")
    def _post_matches(self) -> ReportIn:
        if self.post is not None and self.post.id != self.post_id:
            raise ValueError("post.id must equal post_id")
        return self


class PostBatch(BaseModel):
    """Body of POST /api/v1/posts."""

    posts: list[PostIn] = Field(min_length=1)


class ReportBatch(BaseModel):
    """Body of POST /api/v1/reports."""

    reports: list[ReportIn] = Field(min_length=1)


class AppealIn(BaseModel):
    """Body of POST /api/v1/appeals: the network relays an appeal its user wrote."""

    model_config = ConfigDict(extra="ignore")

    post_id: ExternalId = Field(description="The post whose latest decision is appealed.")
    appellant_id: ExternalId = Field(description="The author of a removed post, or a reporter of a kept one.")
    statement: UserText = Field(min_length=1, max_length=5000, description="Why the decision was wrong.")


class IntakeError(ValueError):
    """A payload problem, with the path of the field at fault."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class PayloadTooLarge(IntakeError):
    """A request over the size or item cap."""


def field_path(loc: tuple) -> str:
    """Render a pydantic location like ('posts', 3, 'text') as posts[3].text."""
    path = ""
    for part in loc:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def parse(model: type[BaseModel], data: object, max_items: int) -> BaseModel:
    """Validate a decoded JSON body; raise IntakeError naming the first bad field."""
    if not isinstance(data, dict):
        raise IntakeError("body", "must be a JSON object")
    key = next(iter(model.model_fields))
    items = data.get(key)
    if isinstance(items, list) and len(items) > max_items:
        raise PayloadTooLarge(key, f"at most {max_items} items per request")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False, include_input=False)[0]
        raise IntakeError(field_path(tuple(first["loc"])), first["msg"]) from None
