#!/usr/bin/env python
"""Write docs/config.md (every spec key) from the field declarations; --check verifies it."""

from jitrl.cli.common import exit_with
from jitrl.cli.config_table import main

if __name__ == "__main__":
    exit_with(main())
