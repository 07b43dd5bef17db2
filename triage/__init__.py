"""Intake, scoring, priority, case dealing, and the RQ glue that runs them."""
