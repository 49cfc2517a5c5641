#!/usr/bin/env python
"""Compare runs side by side (see jitrl.workflow.compare). Run with --help."""
import sys

from jitrl.workflow.commands import compare_main

if __name__ == "__main__":
    sys.exit(compare_main())
