#!/usr/bin/env python
"""Train PPO in one jitted program. See `--help` and README.md."""
import sys

from jitrl.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
