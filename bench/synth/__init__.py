"""Synthetic clips with exact ground truth."""
