"""Offline training and fitting (tagger, specialists, confidence curves, fluency reference, unigram table). It
may import anything; nothing at run time imports it (tests/test_architecture.py)."""
