"""One client per outside system, each built from the settings object once and reused."""
