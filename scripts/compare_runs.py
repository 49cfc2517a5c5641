#!/usr/bin/env python
"""Compare runs side by side (see jitrl.workflow.compare). Run with --help."""

from jitrl.cli.common import exit_with
from jitrl.cli.compare import main

if __name__ == "__main__":
    exit_with(main())
