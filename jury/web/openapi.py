"""The OpenAPI 3.1 document of the intake API, built from the same models that validate it."""
from __future__ import annotations

from functools import lru_cache

from network.contract import ACTION_PAYLOAD_SCHEMA
from network.oncall import ALERT_PAYLOAD_SCHEMA
from triage.schemas import AppealIn, PostBatch, ReportBatch

SIGNATURE_DOC = (
    "Stripe-style signature: `t=<unix seconds>,v1=<hex>,v2=<hex>`, with either scheme or both. "
    "`v1`: HMAC-SHA256 of `\"<t>.<raw body>\"` keyed with INTAKE_SECRET (covers the body only). "
    "`v2` (recommended): HMAC-SHA256 of `\"<t>\\n<METHOD>\\n<path>\\n<raw body>\"` keyed with the 32 bytes "
    "of HMAC-SHA256(INTAKE_SECRET, \"jury-signature-v2\"), where METHOD is `POST` and path is the "
    "percent-decoded URL path without query (`/api/v1/posts`); a v2 signature made for one endpoint is "
    "refused at every other. A body valid at two endpoints is refused at both (400). Unknown schemes "
    "are ignored. Requests older than 5 minutes are refused, and each signature is accepted once."
)


def _error_schema() -> dict:
    return {"type": "object", "required": ["error"],
            "properties": {"error": {"type": "string"}, "field": {"type": "string"}}}


def _counts_schema(extra: bool) -> dict:
    props = {name: {"type": "integer"} for name in ("received", "created", "duplicates")}
    if extra:
        props["posts_created"] = {"type": "integer"}
    return {"type": "object", "required": list(props), "properties": props}


def _operation(summary: str, schema_ref: str, counts: dict) -> dict:
    json_error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    return {
        "summary": summary,
        "security": [{"signature": []}],
        "requestBody": {"required": True,
                        "content": {"application/json": {"schema": {"$ref": schema_ref}}}},
        "responses": {
            "202": {"description": "Accepted; re-sent ids count as duplicates and change nothing.",
                    "content": {"application/json": {"schema": counts}}},
            "400": {"description": "Malformed (also: nested too deeply, or a body that is a valid request at "
                                   "another endpoint too); `field` names the first bad field. Nothing was stored.",
                    "content": json_error},
            "401": {"description": "Missing, bad or expired signature (a v2 one also when made for another "
                                   "method or path).", "content": json_error},
            "409": {"description": "This exact signed request was already accepted (a replay); re-sign to resend.",
                    "content": json_error},
            "413": {"description": "Body over the byte cap (chunked too: checked before the signature) or too "
                                   "many items.", "content": json_error},
            "429": {"description": "Over the API's rate limit (API_RATE_LIMIT); retry after Retry-After seconds.",
                    "content": json_error},
        },
    }


def _appeal_operation() -> dict:
    """POST /api/v1/appeals: 201 with the appeal, or why it cannot be filed."""
    operation = _operation("Relay a user's appeal against a decision (DSA Art. 20)",
                           "#/components/schemas/AppealIn", {})
    json_error = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
    created = {"type": "object", "required": ["appeal_id", "state", "case_id"],
               "properties": {"appeal_id": {"type": "integer"}, "state": {"type": "string"},
                              "case_id": {"type": "integer"}}}
    responses = operation["responses"]
    del responses["202"]
    responses["201"] = {"description": "Filed; a fresh panel will review it.",
                        "content": {"application/json": {"schema": created}}}
    responses["403"] = {"description": "This account may not appeal this decision.", "content": json_error}
    responses["404"] = {"description": "No decision on this post.", "content": json_error}
    responses["409"] = {"description": "An appeal against this decision was already filed.", "content": json_error}
    responses["410"] = {"description": "The 6-month appeal window has closed.", "content": json_error}
    return operation


OUTBOUND_DOC = (
    "Jury POSTs each moderation action to `{NETWORK_URL}/moderation/actions` (the webhook and sandbox "
    "adapters), signed like intake requests but with NETWORK_WEBHOOK_SECRET, both `v1` and `v2` (over POST and "
    "that URL's path), with `Idempotency-Key: <action_id>`. Account actions (`warn_account`, `suspend_account`, "
    "`unsuspend_account`) carry `strike_count` and `verdict_ids`; `suspend_account` also `duration_days` "
    "(null: permanent). Answer 2xx when applied and 409 when that action_id was already applied; other 4xx "
    "answers are final (the action is dead-lettered for a lead to see); 5xx and timeouts are retried."
)


def _moderation_action_webhook() -> dict:
    """The outbound contract: what Jury sends to the network."""
    return {"post": {
        "summary": "A moderation action for the network to apply",
        "description": OUTBOUND_DOC,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/ModerationAction"}}}},
        "responses": {
            "200": {"description": "Applied (any 2xx)."},
            "409": {"description": "This action_id was already applied."},
            "400": {"description": "Refused for good (any other 4xx): dead-lettered for a lead."},
            "503": {"description": "Not now (any 5xx, or a timeout): retried with backoff."},
        },
    }}


ALERT_DOC = (
    "Jury POSTs one alert per case that joins the critical lane (a credible threat to life) to "
    "ONCALL_WEBHOOK_URL exactly as configured, signed with ONCALL_WEBHOOK_SECRET like the moderation actions "
    "(`v1` and `v2`, the latter over POST and that URL's path), with `Idempotency-Key: <alert_id>`. The body "
    "names the case and links to it; it never carries the post's text. 2xx or 409: delivered; 408, 429, 5xx "
    "and timeouts are retried with backoff; other 4xx are dead-lettered for a lead to retry."
)


def _critical_case_webhook() -> dict:
    """The on-call alert: what Jury sends to the on-call URL."""
    return {"post": {
        "summary": "A credible threat to life is waiting for review",
        "description": ALERT_DOC,
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/CriticalCase"}}}},
        "responses": {
            "200": {"description": "Received (any 2xx)."},
            "409": {"description": "This alert_id was already received."},
            "503": {"description": "Not now (any 5xx, 408, 429, or a timeout): retried with backoff."},
        },
    }}


@lru_cache(maxsize=1)
def openapi_document() -> dict:
    """Build (once) the OpenAPI document served at /api/v1/openapi.json."""
    components: dict = {}
    for model in (PostBatch, ReportBatch, AppealIn):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
    components["Error"] = _error_schema()
    components["ModerationAction"] = ACTION_PAYLOAD_SCHEMA
    components["CriticalCase"] = ALERT_PAYLOAD_SCHEMA
    return {
        "openapi": "3.1.0",
        "info": {"title": "Jury intake API", "version": "1.0.0",
                 "description": "How a social network sends posts and user reports to Jury for review."},
        "paths": {
            "/api/v1/posts": {"post": _operation("Send a batch of posts", "#/components/schemas/PostBatch",
                                                 _counts_schema(False))},
            "/api/v1/reports": {"post": _operation(
                "Send a batch of reports (a report may carry its post)", "#/components/schemas/ReportBatch",
                _counts_schema(True))},
            "/api/v1/appeals": {"post": _appeal_operation()},
        },
        "webhooks": {"moderationAction": _moderation_action_webhook(), "criticalCase": _critical_case_webhook()},
        "components": {
            "schemas": components,
            "securitySchemes": {"signature": {"type": "apiKey", "in": "header", "name": "X-Jury-Signature",
                                              "description": SIGNATURE_DOC}},
        },
    }
