#!/usr/bin/env python
"""Check spec files or run a spec validation (see jitrl.workflow.validation). Run with --help."""
import sys

from jitrl.cli.validate import main

if __name__ == "__main__":
    sys.exit(main())
