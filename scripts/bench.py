#!/usr/bin/env python
"""Steps/s, compile seconds and peak memory of env stepping and full PPO training. See --help."""
import sys

from jitrl.cli.bench import main

if __name__ == "__main__":
    sys.exit(main())
