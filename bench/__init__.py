"""Benchmarks that print the operator's figures next to their targets: `python -m bench`."""
