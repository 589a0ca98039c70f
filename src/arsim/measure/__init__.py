"""KPIs: the formulas, and their application to simulated runs and to real ledgers."""
