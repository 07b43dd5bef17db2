"""In a real browser: the CSP lets Jury's own script work, blocks nothing of ours, and hostile posts stay inert."""
from __future__ import annotations

import pytest

from tests.browser.conftest import log_in
from tests.browser.playwright_expect import expect
from tests.security.test_security_hostile import CORPUS

pytestmark = pytest.mark.browser
PWNED = "<img src=x onerror=\"document.title='pwned'\"><script>document.title='pwned'</script>"
THREAT = "I know where you live. I will kill you tonight, you are dead."


def watch(page) -> list[str]:
    """Collect CSP violations and page errors reported by the browser."""
    problems: list[str] = []
    page.on("console", lambda message: problems.append(message.text)
            if "Content Security Policy" in message.text else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    return problems



def test_pages_work_under_the_csp_and_hostile_posts_do_nothing(jury, page):
    problems = watch(page)
    jury.user("ann")
    jury.user("boss", role="lead")
    case_id = jury.report("p-hostile", THREAT + "\n" + PWNED + "\n" + "\n".join(CORPUS[:-1]),
                          reason="violence_threat", comment=PWNED)
    log_in(page, jury, "ann")
    page.locator("#next-case").click()
    expect(page).to_have_url(f"{jury.url}/cases/{case_id}")
    # Jury's own script (static/jury.js) runs under script-src 'self': the reveal button works.
    page.locator("#reveal").click()
    expect(page.locator("#post-text")).not_to_have_class("post-text blurred")
    expect(page.locator("#post-text")).to_contain_text("<script>document.title='pwned'</script>")
    expect(page.locator("#post-text")).to_contain_text("[U+202E]gnp.exe")
    assert page.title() != "pwned"
    assert page.locator("#post-text img, #post-text script, #post-text svg, #post-text iframe").count() == 0
    page.goto(jury.url + "/sandbox/")
    assert page.title() != "pwned"
    page.get_by_role("button", name="Log out ann").click()
    log_in(page, jury, "boss")
    for path in ("/lead/", "/lead/escalations", "/lead/actions", f"/lead/cases/{case_id}/decide", "/sandbox/"):
        page.goto(jury.url + path)
        assert page.title() != "pwned", path
    assert problems == []


def test_an_injected_inline_script_would_not_run(jury, page):
    # Defence in depth: were a template ever to let markup through, the browser still refuses inline script.
    problems = watch(page)
    page.goto(jury.url + "/login")
    with pytest.raises(Exception, match="Content Security Policy"):
        page.add_script_tag(content="document.title='pwned'")
    assert page.title() != "pwned"
    assert any("script-src 'self'" in problem for problem in problems)
