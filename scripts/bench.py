#!/usr/bin/env python
"""Steps/s, compile seconds and peak memory of env stepping and full PPO training. See --help."""

from jitrl.cli.common import exit_with
from jitrl.cli.bench import main

if __name__ == "__main__":
    exit_with(main())
