"""Video2Shop engine: everything that computes. Imports neither Qt nor VLC (see pyproject's
import-linter contracts), so it runs in scripts, servers and tests without a display."""
