"""Work done outside a request: the RQ workers (jobs are service functions queued by name) and the sweeper."""
