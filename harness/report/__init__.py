"""report stage of the harness."""
