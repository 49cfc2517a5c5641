#!/usr/bin/env python
"""Compare runs side by side (see jitrl.workflow.compare). Run with --help."""
import sys

from jitrl.cli.compare import main

if __name__ == "__main__":
    sys.exit(main())
