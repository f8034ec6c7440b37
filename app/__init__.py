"""Wiring: CLI, settings, the VLC adapter and the controllers that join ui/ and engine/."""
