"""Hash-chained audit log. Takes a SQLAlchemy session; knows nothing of Flask."""
from audit.log import (
                       GENESIS_HASH,
                       SEAL_IN_BACKGROUND,
                       EventSpec,
                       chain_head,
                       event_hash,
                       forget_pending,
                       pending_count,
                       record,
                       record_many,
                       register_listeners,
                       seal,
                       seals_in_background,
                       unsealed_count,
                       verify_chain,
)

__all__ = ["GENESIS_HASH", "SEAL_IN_BACKGROUND", "EventSpec", "chain_head", "event_hash", "forget_pending",
           "pending_count", "record", "record_many", "register_listeners", "seal",
           "seals_in_background", "unsealed_count", "verify_chain"]
