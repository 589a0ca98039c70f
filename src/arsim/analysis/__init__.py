"""What-if questions answered with paired statistics: compare, sweep, capacity."""
