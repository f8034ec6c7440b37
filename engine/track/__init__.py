"""Tracking by detection: garments followed through a shot into trajectories."""

from engine.track.cuts import ShotCutDetector
from engine.track.tracker import GarmentTracker

__all__ = ["GarmentTracker", "ShotCutDetector"]
