"""Appeals (DSA Art. 20): a fresh, larger panel reviews a decision; a lead signs off reversals."""
