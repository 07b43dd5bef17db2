"""Statements of reasons say who decided, and never contradict themselves."""
from __future__ import annotations

from jury.panels.quorum import Tally
from jury.panels.statements import statement_of_reasons


def test_a_leads_decision_without_a_panel_does_not_speak_of_a_split_panel():
    kept = statement_of_reasons("keep", None, Tally(), "lead", "reported")
    assert kept == ("Kept: the post was reviewed after user reports and found not to break the rules by a "
                    "trust-and-safety lead.")
    removed = statement_of_reasons("remove", "spam", Tally(), "lead", "auto_flagged")
    assert "decided by a trust-and-safety lead." in removed and "split" not in removed and "votes" not in removed


def test_a_leads_decision_after_a_split_panel_gives_the_panels_votes():
    said = statement_of_reasons("remove", "hate", Tally(remove=2, keep=2, rules={"hate": 2}), "lead", "reported")
    assert "a trust-and-safety lead after the jury panel split (2 of 4 votes to remove)" in said
    assert said.startswith("Removed for breaking the rule 'Hate'.")


def test_a_panels_decision_gives_its_votes():
    said = statement_of_reasons("keep", None, Tally(remove=1, keep=2), "quorum", "auto_flagged", report_count=2)
    assert said == ("Kept: the post was reviewed after an automated model flagged it and users reported it and "
                    "found not to break the rules by a panel of volunteer jurors (1 of 3 votes to remove).")
