#!/usr/bin/env python
"""Sweep spec variants (see jitrl.workflow.sweep). Run with --help."""

from jitrl.cli.common import exit_with
from jitrl.cli.sweep import main

if __name__ == "__main__":
    exit_with(main())
