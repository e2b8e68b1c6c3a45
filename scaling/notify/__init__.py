"""Heads-ups before scheduled down transitions: signed links, message formats, delivery, exactly-once rows."""
