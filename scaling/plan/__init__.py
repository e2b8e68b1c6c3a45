"""Pure decisions: desired state vs observed state -> ordered changes (imports schedule and the core)."""
