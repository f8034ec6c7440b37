"""Errors of the command line that reach the user as one line."""

from __future__ import annotations


class UsageError(Exception):
    """Bad command-line input: printed as one line on stderr, exit status 2."""
