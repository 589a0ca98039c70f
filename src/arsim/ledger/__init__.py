"""Receivables ledgers: reading companies' exports, writing the simulator's own, calibrating from them."""
