"""Calibration of a scenario to a ledger: likelihood fit, simulated moments, report."""
