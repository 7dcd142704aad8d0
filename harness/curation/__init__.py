"""curation stage of the harness."""
