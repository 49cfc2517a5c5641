"""The work around training runs: spec validation runs judged on their
criteria, sweeps that vmap sweepable hyperparameters, curricula with parameter
transfer, early stopping, run comparison and benchmarks.

Modules: ``monitoring`` (Trainer callbacks built on conditions: ESS early stop,
a curriculum stage's advance rule), ``sweep``, ``validation`` (runs and judges
a spec's ``validation:`` criteria), ``curriculum``, ``compare``, ``plots``,
``bench``. Command lines for them are in :mod:`jitrl.cli`.
"""
