#!/usr/bin/env python
"""Write docs/config.md (every spec key) from the field declarations; --check verifies it."""
import sys

from jitrl.cli.config_table import main

if __name__ == "__main__":
    sys.exit(main())
