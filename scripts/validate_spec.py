#!/usr/bin/env python
"""Check spec files or run a spec validation (see jitrl.workflow.validation). Run with --help."""

from jitrl.cli.common import exit_with
from jitrl.cli.validate import main

if __name__ == "__main__":
    exit_with(main())
