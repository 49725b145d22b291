"""Measuring the detector on annotated MT (`mtcheck eval`): the data format and the WMT QE metrics."""
