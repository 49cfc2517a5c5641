#!/usr/bin/env python
"""The learning report of a run directory (trained policy vs random and scripted baselines). See --help."""

from jitrl.cli.common import exit_with
from jitrl.cli.learning_report import main

if __name__ == "__main__":
    exit_with(main())
