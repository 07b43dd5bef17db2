"""Panels and verdicts: the blind vote, the quorum or the reliability-weighted posterior, the verdict and
its follow-up, agreement between jurors, and what a case page may show."""
