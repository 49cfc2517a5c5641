#!/usr/bin/env python
"""Run a trained (or neutral) kmc-tio2 proposal on a large lattice and write weighted observables. See --help."""

from jitrl.cli.common import exit_with
from jitrl.cli.simulate import main

if __name__ == "__main__":
    exit_with(main())
