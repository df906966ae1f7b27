"""Commands of `python -m training`, one module each (see training/cli.py)."""
