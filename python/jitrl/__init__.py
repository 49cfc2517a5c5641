"""jitrl: pure-JAX, end-to-end-jitted reinforcement learning."""
import os as _os


def _xla_cpu_flags() -> None:
    """Turn off XLA:CPU's multi-threaded Eigen pool unless the user set it.

    With it on, executing vmapped HackMatrix rollouts (several seeds or sweep
    rows) wedged the pool at random: 3 of 8 runs never finished, every thread
    parked, against 0 of 8 with it off (the same hang as
    PyAutoLabs/PyAutoFit#1528). Measured cost on the 2-core CPU: none
    (CartPole 2048-env training 180-255k steps/s either way). The flag must be
    in ``XLA_FLAGS`` before JAX starts its CPU backend, hence here.
    """
    flags = _os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        _os.environ["XLA_FLAGS"] = (flags + " --xla_cpu_multi_thread_eigen=false").strip()


_xla_cpu_flags()

from jitrl.envs import Environment, make, register  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Environment", "make", "register", "__version__"]
