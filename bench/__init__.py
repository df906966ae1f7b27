"""Benchmarks: scripts that print their figures (see README.md); run as `python -m bench.<name>`."""
