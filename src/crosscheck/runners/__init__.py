"""Runners: the same per-batch analysis function on local processes or on Ray."""
