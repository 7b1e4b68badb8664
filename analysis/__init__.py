"""Pure statistics for the dashboard: rates and intervals, hot spots, classes and flags (no data loading)."""
