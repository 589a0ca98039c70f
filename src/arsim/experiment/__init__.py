"""Replications, their executors and statistics, and typed results written whole."""
