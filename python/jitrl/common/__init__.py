"""Small helpers every layer may use; they import nothing else from jitrl.

``fields``: a config field declared once (type, default, range, flag, sweepable).
``files``: atomic file writes and time-stamped run names.
``launch``: ``jax.distributed.initialize`` from the launch variables (run by ``jitrl/__init__``).
"""
