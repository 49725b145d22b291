"""Detection: signals combined into flagged spans with a severity and a calibrated confidence."""
