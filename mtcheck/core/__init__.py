"""Typed values and pure helpers shared by every stage: no torch, no model, no I/O beyond one atomic writer."""
