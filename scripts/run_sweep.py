#!/usr/bin/env python
"""Sweep spec variants (see jitrl.workflow.sweep). Run with --help."""
import sys

from jitrl.workflow.commands import sweep_main

if __name__ == "__main__":
    sys.exit(sweep_main())
