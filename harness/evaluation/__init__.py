"""evaluation stage of the harness."""
