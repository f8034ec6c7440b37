"""Training and evaluation on the synthetic benchmark (or real data in the same layout)."""
