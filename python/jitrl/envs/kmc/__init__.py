"""TiO2 thin-film lattice KMC env: ``jitrl.make("kmc-tio2", lattice_size=(nx, ny, nz))``."""
from jitrl.envs.kmc.env import KMCTiO2
from jitrl.envs.kmc.state import EnvParams, EnvState

__all__ = ["KMCTiO2", "EnvParams", "EnvState"]
