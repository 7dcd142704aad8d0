"""models stage of the harness."""
