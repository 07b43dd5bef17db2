"""Jurors as people: accounts and sign-in, lockout, profiles, their figures, the rule guide, who may sit
on a panel, and what leads do to manage them."""
