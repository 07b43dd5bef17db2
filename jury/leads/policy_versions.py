"""Editing the versioned policy: settings as form fields, diffs between versions, roll-back."""
from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

import audit
from jury.leads.policy_labels import SECTIONS, Label, label_for
from models import Policy, db, utcnow
from models.errors import NotFound
from triage import transaction
from triage.policy import DEFAULT_SETTINGS, PolicyError, current_policy, publish_policy, validate_settings
from triage.strikes import StrikePolicy, compare

# Form field names are "<prefix><dotted path>"; the prefix keeps them apart from csrf_token etc.
FIELD_PREFIX = "s:"
MAX_FIELD_CHARS = 2000


@dataclass(frozen=True)
class Field:
    """One editable leaf of the settings tree."""

    path: str  # dotted, e.g. "auto_flag.toxicity"
    kind: str  # "int", "float", "bool", "str" or "json" (lists and anything else)
    value: Any

    @property
    def name(self) -> str:
        """The form field's name."""
        return FIELD_PREFIX + self.path

    @property
    def text(self) -> str:
        """The value as the form shows it."""
        if self.kind == "json":
            return json.dumps(self.value)
        if self.kind == "bool":
            return "true" if self.value else "false"
        return str(self.value)

    @property
    def group(self) -> str:
        """The top-level setting this leaf belongs to."""
        return self.path.split(".", 1)[0]


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "str"
    return "json"


def flatten(settings: Mapping[str, Any], prefix: str = "") -> list[Field]:
    """Every leaf of a nested settings mapping, in a stable order (so new settings appear by themselves)."""
    fields: list[Field] = []
    for key in sorted(settings):
        value = settings[key]
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            fields.extend(flatten(value, path + "."))
        else:
            fields.append(Field(path, _kind(value), value))
    return fields


@dataclass(frozen=True)
class FormSection:
    """One group of the policy form: its title and help, and its settings with their labels."""

    key: str
    title: str
    help: str
    fields: list[tuple[Field, Label]]


def sections(settings: Mapping[str, Any]) -> list[FormSection]:
    """The settings as the form shows them: grouped and ordered as a lead thinks about them."""
    labelled = sorted(((field, label_for(field.path)) for field in flatten(settings)),
                      key=lambda pair: (pair[1].order, pair[0].path))
    return [FormSection(key, title, help_text, [pair for pair in labelled if pair[1].section == key])
            for key, title, help_text in SECTIONS if any(pair[1].section == key for pair in labelled)]


def field_errors(error: PolicyError, settings: Mapping[str, Any]) -> dict[str, str]:
    """The form fields a policy error is about (every setting each of its messages names), with the
    message; "" for a message that names none."""
    found: dict[str, str] = {}
    for message in getattr(error, "messages", [str(error)]):
        named = [field.name for field in flatten(settings)
                 if re.search(rf"(?<![\w.]){re.escape(field.path)}(?![\w])", message)]
        for name in named or [""]:
            found[name] = f"{found[name]} {message}" if name in found else message
    return found


def editable_settings() -> dict[str, Any]:
    """The settings in force, completed with any default a newer release added (and without retired ones)."""
    return validate_settings({k: v for k, v in current_policy(fresh=True).settings.items() if k in DEFAULT_SETTINGS})


def _parse(field: Field, raw: str | None) -> Any:
    """The submitted text as the leaf's type; PolicyError naming the field when it does not parse."""
    if field.kind == "bool":
        return raw in ("true", "on", "1", "yes")
    raw = (raw or "").strip()
    if len(raw) > MAX_FIELD_CHARS:
        raise PolicyError(f"{field.path} is too long")
    try:
        if field.kind == "int":
            return int(raw)
        if field.kind == "float":
            value = float(raw)
            if value != value or value in (float("inf"), float("-inf")):
                raise ValueError("not finite")
            return value
        if field.kind == "json":
            return json.loads(raw)
    except ValueError:
        raise PolicyError(f"{field.path}: {raw[:40]!r} is not a valid {field.kind}") from None
    return raw


def settings_from_form(form: Mapping[str, str], base: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build a complete settings mapping from submitted fields; missing fields keep their value."""
    base = dict(base if base is not None else editable_settings())
    result = json.loads(json.dumps(base))  # a deep copy that is plain JSON
    unreadable = []
    for field in flatten(base):
        if field.name not in form:
            continue
        # A checkbox follows a hidden "false" of the same name: the last value submitted wins.
        raw = form.getlist(field.name)[-1] if hasattr(form, "getlist") else form.get(field.name)
        try:
            value = _parse(field, raw)
        except PolicyError as error:
            unreadable.append(str(error))
            continue
        node = result
        *parents, leaf = field.path.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    if unreadable:
        raise FormErrors(unreadable)
    return validate_settings(result)


class FormErrors(PolicyError):
    """Every field of a submitted form that did not parse (each message starts with the setting's path)."""

    def __init__(self, messages: list[str]) -> None:
        super().__init__("; ".join(messages))
        self.messages = messages


# The strike ladder's what-if looks back this many days (the "last 30 days").
STRIKES_WHATIF_DAYS = 30
STRIKES_PREFIX = FIELD_PREFIX + "strikes."


@dataclass(frozen=True)
class StrikesWhatIf:
    """The accounts the ladder in force and a candidate would have warned, suspended and banned."""

    days: int
    in_force: dict[str, int] | None
    candidate: dict[str, int] | None
    error: str | None = None


def strikes_what_if(form: Mapping[str, str]) -> StrikesWhatIf:
    """Replay the last days' removals under the submitted `strikes` fields (others are ignored, so a
    mistake elsewhere in the form does not hide the figures) beside the ladder in force."""
    fields = {name: (form.getlist(name)[-1] if hasattr(form, "getlist") else form[name])
              for name in form if name.startswith(STRIKES_PREFIX)}
    try:
        edited = settings_from_form(fields, editable_settings())
    except PolicyError as error:
        return StrikesWhatIf(STRIKES_WHATIF_DAYS, None, None, str(error))
    counts = compare(current_policy(fresh=True).strikes, StrikePolicy.from_settings(edited["strikes"]),
                     utcnow(), days=STRIKES_WHATIF_DAYS)
    return StrikesWhatIf(STRIKES_WHATIF_DAYS, counts["in_force"], counts["candidate"])


def diff(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[tuple[str, Any, Any]]:
    """(path, old value, new value) for each leaf that differs; None stands for absent."""
    before = {f.path: f.value for f in flatten(old)}
    after = {f.path: f.value for f in flatten(new)}
    return [(path, before.get(path), after.get(path))
            for path in sorted(set(before) | set(after)) if before.get(path) != after.get(path)]


@dataclass(frozen=True)
class VersionEntry:
    """A policy version in the history, with what it changed."""

    policy: Policy
    changes: list[tuple[str, Any, Any]]


def history(limit: int = 200) -> list[VersionEntry]:
    """Versions newest first, each with its diff against the version before it."""
    rows = list(db.session.scalars(select(Policy).order_by(Policy.version.desc()).limit(limit + 1)))
    entries = []
    for index, row in enumerate(rows[:limit]):
        previous = rows[index + 1].settings if index + 1 < len(rows) else {}
        entries.append(VersionEntry(row, diff(previous, row.settings)))
    return entries


def get_version(version: int) -> Policy:
    """One stored version."""
    row = db.session.scalar(select(Policy).where(Policy.version == version))
    if row is None:
        raise NotFound(f"no policy version {version}")
    return row


def publish(settings: Mapping[str, Any], *, reason: str, user_id: int | None,
            rolled_back_to: int | None = None) -> Policy:
    """Publish edited settings as a new version, with its audit events, and commit."""
    before = current_policy(fresh=True).settings
    with transaction.atomic():
        row = publish_policy(dict(settings), reason=reason.strip()[:2000], actor=f"user:{user_id}",
                             created_by_id=user_id)
        audit.record(db.session, "policy_changed", "policy", row.version,
                     {"changes": _jsonable(diff(before, row.settings))}, actor=f"user:{user_id}")
        if rolled_back_to is not None:
            audit.record(db.session, "policy_rolled_back", "policy", row.version,
                         {"to_version": rolled_back_to}, actor=f"user:{user_id}")
    return row


def rollback(version: int, *, reason: str, user_id: int | None) -> Policy:
    """A new version whose settings copy an earlier one (history is never rewritten)."""
    old = get_version(version)
    # Drop settings a later release retired, keep every current one: old versions stay publishable.
    settings = {key: value for key, value in old.settings.items() if key in DEFAULT_SETTINGS}
    if not reason.strip():
        raise PolicyError("a roll-back needs a reason")
    return publish(settings, reason=f"roll back to version {version}: {reason.strip()}", user_id=user_id,
                   rolled_back_to=version)


def _jsonable(changes: Iterable[tuple[str, Any, Any]]) -> list[dict[str, Any]]:
    return [{"path": path, "old": old, "new": new} for path, old, new in changes]
