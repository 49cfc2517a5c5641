"""jitrl: pure-JAX, end-to-end-jitted reinforcement learning."""
from jitrl.common.launch import maybe_initialize

maybe_initialize()  # jax.distributed first: importing the envs (gymnax) already creates arrays
from jitrl.envs import Environment, make, register

__version__ = "0.1.0"
__all__ = ["Environment", "make", "register", "__version__"]
