"""Scripts that make the documentation's pictures."""
