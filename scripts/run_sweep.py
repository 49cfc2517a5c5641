#!/usr/bin/env python
"""Sweep spec variants (see jitrl.workflow.sweep). Run with --help."""
import sys

from jitrl.cli.sweep import main

if __name__ == "__main__":
    sys.exit(main())
