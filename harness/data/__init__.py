"""data stage of the harness."""
