"""The workflow around training (issue 5): spec validation runs with success
criteria, sweeps that vmap float hyperparameters, curricula with parameter
transfer, ESS early stopping, run comparison.

Modules: ``criteria`` (validation criteria), ``monitoring`` (Trainer
callbacks: ESS early stop, metric-window stage advance), ``sweep``,
``validation``, ``curriculum``, ``compare``, ``plots``, ``registration``
(hooks the ``validation:`` key into the spec loader). Kept import-free here so
that :mod:`jitrl.config` can import ``registration`` without a cycle.
"""
