"""What leads read and do beyond a single case: the console's figures, bulk work, tuning, policy
versions, queue health and the reports they download."""
