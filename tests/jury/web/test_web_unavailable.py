"""With the database unreachable, every kind of page answers 503 cleanly: no traceback, no 500."""
from __future__ import annotations

from jury import create_app
from tests.conftest import base_config, post_payload, signed
from tests.integration.servers import free_port


def unreachable_app(tmp_path):
    # Nothing listens on this port: every connection attempt is refused at once.
    url = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/jury"
    return create_app(base_config(tmp_path, SQLALCHEMY_DATABASE_URI=url))


def test_the_api_answers_503_json_with_retry_after(tmp_path):
    client = unreachable_app(tmp_path).test_client()
    body, headers = signed({"posts": [post_payload("p1")]})
    response = client.post("/api/v1/posts", data=body, headers=headers)
    assert response.status_code == 503
    assert response.get_json() == {"error": "service temporarily unavailable; retry later"}
    # Five seconds; the rate limiter restates it as whole seconds left, so 4 or 5.
    assert response.headers["Retry-After"] in ("4", "5")


def test_pages_answer_a_503_page_that_leaks_nothing(tmp_path):
    client = unreachable_app(tmp_path).test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1:some-token"  # a logged-in juror: loading them needs the database
    health = client.get("/healthz")
    assert health.status_code == 503  # the health check reports the outage as JSON for probes
    assert health.get_json()["status"] == "unavailable" and "127.0.0.1" not in health.get_data(as_text=True)
    for path in ("/", "/lead/", "/cases/1"):
        response = client.get(path)
        assert response.status_code == 503, path
        page = response.get_data(as_text=True)
        assert "Temporarily unavailable" in page
        assert "Traceback" not in page and "psycopg" not in page and "127.0.0.1" not in page
        assert "default-src 'self'" in response.headers["Content-Security-Policy"]
