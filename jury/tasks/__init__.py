"""Work done outside a request: the RQ job handlers (queued by name) and the sweeper."""
