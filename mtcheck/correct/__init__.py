"""Proposed readings for flagged spans, ranked by the language model and passed through meaning guards."""
