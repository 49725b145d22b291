"""mtcheck: find machine-garbled passages in English translations of news."""

__version__ = "0.1.0"
