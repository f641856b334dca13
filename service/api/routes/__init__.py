"""One router per resource: health, cameras, identities, tracklets, search, audit, events."""
