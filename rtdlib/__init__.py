"""rtdlib."""
