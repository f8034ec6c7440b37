"""Starts the Video2Shop player: the same as ``video2shop play [VIDEO] [options]``."""

import sys

from app.cli import main

if __name__ == "__main__":
    sys.exit(main(["play", *sys.argv[1:]]))
