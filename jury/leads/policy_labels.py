"""The policy form as a lead reads it: each setting's label, one line of help, its unit and its
choices, in the order a lead thinks about them (what opens a case, who sits, how a verdict is
reached, strikes, deadlines, then the rest). Settings are matched by their dotted path; a family of
leaves (one per model label, per rule, per severity) by its group. A setting this catalogue does not
know yet still shows, under "Other settings", with a label made from its path (a test keeps the
catalogue complete for the defaults)."""
from __future__ import annotations

from dataclasses import dataclass

from models.rules import RULES_BY_CODE

SECTIONS = (
    ("opens", "What opens a case", "Model scores that open a case on their own, hide a post at once, or put it "
                                   "in the critical lane, and how the queue is ordered."),
    ("sits", "Who sits", "Panel sizes, the known-answer checks on new jurors, and how much hard content a juror "
                         "sees in a day."),
    ("verdict", "How a verdict is reached", "The method, the majority or confidence it needs, and when a panel "
                                            "is widened."),
    ("strikes", "Strikes and account measures", "What a removal weighs against its author, for how long, and "
                                                "what the totals call for."),
    ("deadlines", "Deadlines", "How long each severity may wait, and how long a juror holds a seat."),
    ("models", "Models", "When the stronger model re-scores a post, and how often reliability is re-estimated."),
    ("other", "Other settings", "Settings this page has no description for yet."),
)
SEVERITY_ORDER = ("critical", "high", "medium", "low")
MODEL_LABELS = {"toxicity": "toxicity", "severe_toxicity": "severe toxicity", "obscene": "obscenity",
                "threat": "threat", "insult": "insult", "identity_attack": "identity attack"}


@dataclass(frozen=True)
class Label:
    """How one setting reads on the form."""

    section: str
    label: str
    help: str
    unit: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    order: float = 0


# Exact paths, in the order they show within their section.
_EXACT: dict[str, tuple[str, str, str, str]] = {
    "critical.threat_score": ("opens", "Critical lane: model threat score",
                              "A post the model scores at least this on its threat label is treated as a "
                              "credible threat to life: hidden at once, dealt first, on-call alerted.", "0–1"),
    "critical.reporters": ("opens", "Critical lane: reporters of a violent threat",
                           "This many different people reporting a post as a violent threat put it in the "
                           "critical lane (0: reports alone never do).", "people"),
    "clusters.enabled": ("opens", "Near-duplicate clusters",
                         "Put each new post in a cluster of near-copies of it; copies waiting for review share "
                         "one case, and its verdict applies to each of them.", ""),
    "clusters.similarity": ("opens", "Cluster similarity",
                            "How close a post must be to a cluster's first post to join it; a threat quoted in a "
                            "longer text stays apart.", "0.5–1"),
    "clusters.auto_remove_similarity": ("opens", "Remove later copies without a juror from",
                                        "A new copy of a removed post at least this close is removed under the "
                                        "standing verdict; a looser copy is hidden and one juror confirms it.",
                                        "0.5–1"),
    "clusters.spot_check_share": ("opens", "Spot checks of copies removed without a juror",
                                  "This share of them goes to one juror; a juror who disagrees pauses the "
                                  "cluster's removals and tells a lead.", "0–1"),
    "priority_weights.severity": ("opens", "Queue order: weight of severity",
                                  "How much each severity step (0–3) raises a case in the queue.", "points"),
    "priority_weights.reports": ("opens", "Queue order: weight of reports",
                                 "How much the number of distinct reporters raises a case (on a log scale).",
                                 "points"),
    "priority_weights.age": ("opens", "Queue order: weight of waiting",
                             "How much a case rises as it uses up its deadline.", "points"),
    "priority_weights.reporter_accuracy": ("opens", "Queue order: trust reporters by their record",
                                           "0 counts every reporter as one; 1 counts each by the share of their "
                                           "reports the jury upheld.", "0–1"),
    "panel_size": ("sits", "Panel size", "Jurors dealt a case at first.", "jurors"),
    "widened_panel_size": ("sits", "Widened panel size", "Jurors a split panel grows to before a lead is asked.",
                           "jurors"),
    "appeal_panel_size": ("sits", "Appeal panel size",
                          "Fresh jurors (none who decided the case) who review an appeal.", "jurors"),
    "gold_share": ("sits", "Known-answer share", "Share of the cases dealt that are known-answer checks.", "0–1"),
    "probation_gold_cases": ("sits", "Probation checks",
                             "Known-answer cases a new juror answers before real cases count fully.", "cases"),
    "gold_accuracy_min": ("sits", "Known-answer accuracy needed",
                          "Below this accuracy on recent checks a juror is paused for a lead to look.", "0–1"),
    "gold_window": ("sits", "Known-answer window", "How many recent checks that accuracy is measured on.",
                    "cases"),
    "show_author_removals": ("sits", "Show jurors the author's earlier removals",
                             "Off by default: an author's history biases a vote.", ""),
    "verdict_method": ("verdict", "Verdict method",
                       "Quorum: a supermajority of the panel's votes. Weighted: each vote weighed by the juror's "
                       "estimated reliability until the panel is confident.", ""),
    "supermajority": ("verdict", "Supermajority (quorum)", "Share of the votes one side needs.", "0.5–1"),
    "confidence": ("verdict", "Confidence (weighted)", "How sure the weighted panel must be to decide.",
                   "0.5–1"),
    "min_votes": ("verdict", "Fewest votes (weighted)", "Votes needed before a weighted panel may decide.",
                  "votes"),
    "max_panel_size": ("verdict", "Largest panel (weighted)",
                       "Votes after which an undecided weighted panel goes to a lead.", "votes"),
    "vote_cost": ("verdict", "Worth of one more vote (weighted)",
                  "An undecided weighted panel asks one more juror only while that vote is expected to lower the "
                  "chance of a wrong verdict by more than this (0: add seats until confident, then a lead).",
                  "0–0.5"),
    "flood.enabled": ("verdict", "Votes cost more in a flood (weighted)",
                      "While more cases are open than the jury decided in the hours below (and at least the "
                      "cases below), one more vote must be worth the flood's price: more cases decided, more of "
                      "them wrongly.", ""),
    "flood.vote_cost": ("verdict", "Worth of one more vote in a flood (weighted)",
                        "The price of a vote while the queue is a flood: a vote spent on a nearly sure case is a "
                        "case nobody reads (at least the usual worth above).", "0–0.5"),
    "flood.queue_hours": ("verdict", "A flood: more open cases than decided in",
                          "The queue is a flood when it holds more cases than the jury decided in this many "
                          "hours.", "hours"),
    "flood.min_open_cases": ("verdict", "A flood: at least this many open cases",
                             "A shorter queue is never a flood, however few verdicts came lately.", "cases"),
    "lead_cost": ("verdict", "When a lead is worth calling (weighted)",
                  "A panel goes to a lead only while the chance its leaning is wrong is above this; else it "
                  "decides at its leaning and says how sure it was.", "0–0.5"),
    "max_open_escalations": ("verdict", "Leads' desk",
                             "Most cases waiting for a lead at once; when full, panels widen or decide at their "
                             "leaning.", "cases"),
    "strikes.window_days": ("strikes", "Strikes count for", "A strike stops counting this long after its removal.",
                            "days"),
    "strikes.uncertain_below": ("strikes", "Uncertain removals: below",
                                "A panel's removal whose confidence (the chance the post breaks the rule) is "
                                "below this weighs at most the weight below. 0: every removal weighs by its "
                                "rule. A lead's decision always weighs in full.", "0–1"),
    "strikes.uncertain_weight": ("strikes", "Uncertain removals: weigh at most",
                                 "At 1 an uncertain removal warns, and only the third within the window "
                                 "suspends, whatever its rule.", "strikes"),
    "strikes.ladder": ("strikes", "Ladder", "The measures the active strike weight calls for, as JSON: "
                                            '[{"at": 1, "action": "warn"}, {"at": 3, "action": "suspend", '
                                            '"days": 7}, …, {"at": 10, "action": "ban"}].', "JSON"),
    "lease_minutes": ("deadlines", "Seat lease", "How long a juror holds a dealt case before it goes to another.",
                      "minutes"),
    "cascade_band.low": ("models", "Re-score band: from", "The cheap model's score from which the strong model "
                                                          "re-scores a post.", "0–1"),
    "cascade_band.high": ("models", "Re-score band: to", "The cheap model's score up to which it does.", "0–1"),
    "reestimate_every_verdicts": ("models", "Re-estimate reliability every",
                                  "Verdicts between two estimates of the jurors' reliability.", "verdicts"),
}
_CHOICES = {"verdict_method": (("quorum", "Quorum (supermajority)"), ("weighted", "Weighted by reliability"))}
_ORDER = {path: index for index, path in enumerate(_EXACT)}


def label_for(path: str) -> Label:
    """The label, help, unit and choices of one setting (by its dotted path)."""
    if path in _EXACT:
        section, label, help_text, unit = _EXACT[path]
        return Label(section, label, help_text, unit, _CHOICES.get(path, ()), _ORDER[path])
    group, _, leaf = path.partition(".")
    family = _family(group, leaf)
    if family is not None:
        return family
    return Label("other", path.replace("_", " ").replace(".", ": ").capitalize(), "", "", (), 10_000)


def _family(group: str, leaf: str) -> Label | None:
    """One leaf of a per-label, per-rule or per-severity group."""
    order = len(_ORDER)
    if group == "auto_flag" and leaf:
        return Label("opens", f"Open a case at {MODEL_LABELS.get(leaf, leaf)} score",
                     f"A post the model scores at least this on {MODEL_LABELS.get(leaf, leaf)} opens a case with no "
                     "report.", "0–1", (), order)
    if group == "interim_hide" and leaf:
        return Label("opens", f"Hide at once at {MODEL_LABELS.get(leaf, leaf)} score",
                     "A post scored at least this is hidden on the network until the jury decides.", "0–1", (),
                     order + 1)
    if group == "daily_exposure_caps" and leaf:
        return Label("sits", f"Daily cap: {_rule(leaf)}",
                     f"The most {_rule(leaf).lower()} cases one juror is dealt in a day (0: none).", "cases", (),
                     order + 2)
    if group == "strikes" and leaf.startswith("weights."):
        rule = leaf.removeprefix("weights.")
        return Label("strikes", f"Weight of a removal: {_rule(rule)}", "Strikes one removal under this rule adds.",
                     "strikes", (), order + 3)
    if group == "sla_hours" and leaf:
        rank = SEVERITY_ORDER.index(leaf) if leaf in SEVERITY_ORDER else len(SEVERITY_ORDER)
        return Label("deadlines", f"Deadline: {leaf} severity", f"Time a {leaf} case may wait for its verdict.",
                     "hours", (), order + 4 + rank / 10)
    return None


def _rule(code: str) -> str:
    rule = RULES_BY_CODE.get(code)
    return rule.title if rule else code.replace("_", " ")


def known(path: str) -> bool:
    """Whether the catalogue describes the setting (else it shows under "Other settings")."""
    return label_for(path).section != "other"
