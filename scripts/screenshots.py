#!/usr/bin/env python
"""Take the documentation's screenshots: the demo data on a throwaway SQLite database, shot with chromium.

    .venv/bin/python scripts/screenshots.py [--out docs/screenshots]

Nothing outside a temporary folder is written except the PNGs. Needs Playwright (a dev requirement)
and Debian's chromium (`scripts/ensure-chromium.sh`).
"""
from __future__ import annotations

import argparse
import logging
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from jury import create_app  # noqa: E402
from jury.demo import seed as demo  # noqa: E402
from jury.demo.devserver import LiveServer  # noqa: E402

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
VIEWPORT = {"width": 1280, "height": 900}
THREAT_TEXT = dict((pid, text) for pid, _, text in demo.DEMO_POSTS)["demo-3"]


def build_app(workdir: Path):
    """The app on a temporary database and model folder, secrets given so nothing lands in instance/."""
    return create_app({
        "DATABASE_URL": f"sqlite:///{workdir / 'jury.sqlite3'}",
        "MODEL_DIR": str(workdir / "models"),
        "SECRET_KEY": secrets.token_hex(16),
        "INTAKE_SECRET": secrets.token_hex(16),
        "NETWORK_WEBHOOK_SECRET": secrets.token_hex(16),
        "NETWORK_ADAPTER": "sandbox",
        "REDIS_URL": None,
    })


def log_in(page, url: str, username: str, password: str) -> None:
    """Log in through the form (a lead lands on the lead's queue, a juror on their cases)."""
    page.goto(url + "/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(re.escape(url) + r"/(lead/)?$"))


def deal_until(page, url: str, wanted: str, tries: int = 20) -> str:
    """Take cases (skipping the others) until the post with text `wanted` is dealt; returns its case URL."""
    page.goto(url + "/")
    current = page.locator("a.button.primary", has_text="current case")
    if current.count():
        current.click()
    else:
        page.locator("#next-case").click()
    page.wait_for_url(url + "/cases/*")
    for _ in range(tries):
        if page.locator("#case").count() == 0:
            break  # nothing left to deal to this juror
        if page.locator("#post-text").text_content() == wanted:
            return f"{url}/cases/{page.locator('#case').get_attribute('data-case-id')}"
        moved_on(page, lambda: page.locator("#skip").click())
    raise RuntimeError(f"never dealt the post {wanted!r}")


def vote_remove(page, url: str, rule: str) -> None:
    """Vote Remove under `rule` and wait until the screen has moved on."""
    page.locator(f"input[name=rule][value={rule}]").check()
    moved_on(page, lambda: page.locator("#vote-remove").click())


def moved_on(page, act) -> None:
    """Do `act` on a case page and wait until that case is gone (the screen swaps in the next one)."""
    case_id = page.locator("#case").get_attribute("data-case-id")
    act()
    page.wait_for_function(
        "id => { const c = document.querySelector('#case'); return !c || c.dataset.caseId !== id; }", arg=case_id)
    page.wait_for_load_state("networkidle")


def shoot(out: Path) -> list[Path]:
    """Seed the demo, drive the pages, and save the PNGs; returns their paths."""
    from playwright.sync_api import sync_playwright

    chromium = shutil.which("chromium")
    if chromium is None:
        raise SystemExit("chromium is not installed: run scripts/ensure-chromium.sh")
    out.mkdir(parents=True, exist_ok=True)
    saved = []
    with tempfile.TemporaryDirectory(prefix="jury-screenshots-") as tmp:
        app = build_app(Path(tmp))
        # Serve first: the demo's interim hides are delivered to the sandbox as they are queued.
        with LiveServer(app) as server, app.app_context():
            passwords = {name: password for name, _role, password in demo.prepare()}
            url = server.url
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=chromium, headless=True, args=CHROMIUM_ARGS)

                def page_for(username: str | None = None):
                    page = browser.new_context(viewport=VIEWPORT).new_page()
                    page.set_default_timeout(15_000)
                    if username:
                        log_in(page, url, username, passwords[username])
                    return page

                def save(page, name: str, full_page: bool = True) -> None:
                    path = out / name
                    page.screenshot(path=str(path), full_page=full_page)
                    saved.append(path)

                juror = page_for("juror")
                case_url = deal_until(juror, url, THREAT_TEXT)
                save(juror, "juror-case.png")
                juror.locator("#reveal").click()
                juror.wait_for_selector("#post-text:not(.blurred)")
                save(juror, "juror-case-revealed.png")

                # Two more jurors agree, so the sandbox shows a verdict landing.
                vote_remove(juror, url, "violence_threat")
                for name in ("juror2", "juror3"):
                    other = page_for(name)
                    assert deal_until(other, url, THREAT_TEXT) == case_url
                    vote_remove(other, url, "violence_threat")

                lead = page_for("lead")
                lead.goto(url + "/lead/")
                save(lead, "lead-queue.png")
                # The threat's cluster: it and the two copies pasted by other accounts, all removed.
                lead.goto(case_url)
                lead.get_by_role("link", name="The cluster: its members and its verdict").click()
                lead.wait_for_url(url + "/lead/clusters/*")
                save(lead, "lead-cluster.png")
                lead.goto(url + "/lead/tuning?label=toxicity&threshold=0.5&days=7")
                save(lead, "lead-tuning.png")
                lead.goto(url + "/lead/health")
                save(lead, "lead-health.png")
                # The threat's author, suspended by that removal (a violent threat weighs three strikes).
                lead.goto(url + "/lead/accounts/mallory")
                save(lead, "lead-account.png")

                visitor = page_for()
                visitor.goto(url + "/sandbox/")
                save(visitor, "sandbox.png")
                browser.close()
    return saved


def main() -> None:
    """Parse the arguments and take the screenshots."""
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots", help="folder for the PNGs")
    for path in shoot(parser.parse_args().out):
        print(path.relative_to(ROOT) if path.is_relative_to(ROOT) else path)


if __name__ == "__main__":
    main()
