"""Table Storage and schedules files: projects, overrides, audit, locks."""
