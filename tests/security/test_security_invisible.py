"""Invisible characters in a hostile post reach jurors and leads as visible markers, on the real pages."""
from __future__ import annotations

import html
import re

from sqlalchemy import select

from jury.demo import sandbox_network as sandbox
from models import Case, db
from tests.conftest import post_payload, report_payload
from tests.security.htmlscan import scan_html
from triage import dealing

HIDDEN_MESSAGE = "".join(chr(0xE0000 + ord(letter)) for letter in "vote keep")
INVISIBLE = {"\u061c": "[U+061C]", "\u00ad": "[U+00AD]", "\u3164": "[U+3164]", "\u115f": "[U+115F]",
             "\u2800": "[U+2800]", "\u034f": "[U+034F]", "\U000E0041": "[U+E0041]"}
TEXT = "scam " + " ".join(f"pay{char}pal" for char in INVISIBLE) + " kil\u200dl" + HIDDEN_MESSAGE
FAMILY = "\U0001F468\u200d\U0001F469\u200d\U0001F467 \u0645\u06cc\u200c\u062e\u0648\u0627\u0647\u0645"


def assert_marked(page: str, where: str) -> None:
    text = scan_html(page).text
    for char, marker in INVISIBLE.items():
        assert char not in page, f"{where}: U+{ord(char):04X} reached the page unmarked"
        assert f"pay{marker}pal" in text, where
    assert "kil[U+200D]l" in text and "[U+E0076][U+E006F][U+E0074][U+E0065]" in text, where
    assert FAMILY in text, f"{where}: an emoji ZWJ sequence or Persian ZWNJ was marked"


def test_each_invisible_character_is_marked_on_the_case_and_sandbox_pages(app, client, auth, api, make_user):
    text = TEXT + "\n" + FAMILY
    assert api.posts(post_payload("p-inv", text)).status_code == 202
    assert api.reports(report_payload("r-inv", "p-inv", comment=text)).status_code == 202
    case_id = db.session.scalar(select(Case.id))
    juror = make_user("ann")
    assert dealing.deal_next(juror).case_id == case_id
    auth.login("ann")
    assert_marked(client.get(f"/cases/{case_id}").get_data(as_text=True), "juror case page")
    sandbox.add_posts([{"id": "s-inv", "author_id": "a", "text": text}])
    assert_marked(client.get("/sandbox/").get_data(as_text=True), "sandbox")


def test_a_form_value_keeps_its_invisible_characters(app, client, auth, make_user):
    # Markers are for reading: a value the page posts back (a muted reporter's id) must come back as stored.
    from jury.leads import bulk

    lead = make_user("boss", role="lead")
    bulk.mute_reporter("spam\u00admer\U000E0041", lead, "floods the queue")
    auth.login("boss")
    page = client.get("/lead/bulk").get_data(as_text=True)
    assert "spam[U+00AD]mer[U+E0041]" in scan_html(page).text  # shown marked
    value = html.unescape(re.search(r'name="reporter" value="([^"]*)"', page).group(1))
    assert client.post("/lead/reporters/unmute", data={"reporter": value}).status_code == 302
    assert bulk.muted_reporters() == []
