#!/usr/bin/env python
"""Watch a trained agent play in the terminal, or write the replay as a GIF. See --help."""

from jitrl.cli.common import exit_with
from jitrl.cli.watch import main

if __name__ == "__main__":
    exit_with(main())
