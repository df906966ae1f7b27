"""Studies, conditions, items, scales, participants and ratings."""
