"""Review workflow after `mtcheck check`: decide each flag (server or static page), apply the decisions,
export them as training/calibration data. See docs/report-schema.md, "Decisions file"."""
