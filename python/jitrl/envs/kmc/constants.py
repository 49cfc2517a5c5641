"""Physical constants, the event layout and the default energy/rate table.

Every default below is a field of :class:`jitrl.envs.kmc.state.EnvParams`
(override with ``jitrl.make("kmc-tio2", temperature=500.0, ...)``). The same
table, with sources, is in ``PARAMETERS.md`` next to this file.

| name | default | unit | meaning | source |
| --- | --- | --- | --- | --- |
| ``K_B`` | 8.617333262e-5 | eV/K | Boltzmann constant | CODATA 2018 (exact SI-derived) |
| ``temperature`` | 180.0 | K | substrate temperature | the users' SB3 KMC trainer's stage-1 config ``temperature: 180.0`` |
| ``nu`` | 1e13 | 1/s | attempt frequency of hops and desorption | the usual ~k_B T/h order of magnitude |
| ``F_Ti`` | 0.1 | ML/s per column | Ti deposition flux | the users' SB3 KMC trainer ``deposition_rate: 0.1`` |
| ``F_O`` | 0.2 | ML/s per column | O deposition flux (F_O/F_Ti = 2 -> O/Ti -> 2) | jitrl's choice |
| ``E_d_Ti`` | 0.30 | eV | terrace hop barrier of a Ti adatom | illustrative, not fitted |
| ``E_d_O`` | 0.40 | eV | terrace hop barrier of an O adatom | illustrative, not fitted |
| ``E_des_Ti`` | 2.0 | eV | desorption barrier of Ti | illustrative, not fitted |
| ``E_des_O`` | 2.5 | eV | desorption barrier of O | illustrative, not fitted |
| ``E_ES`` | 0.15 | eV | Ehrlich-Schwoebel extra barrier for a hop that crosses a step edge (one level down or up) | illustrative, not fitted; symmetric (detailed balance) |
| ``E_TiO`` | 0.30 | eV | lateral bond Ti-O | illustrative, not fitted |
| ``E_TiTi`` | 0.15 | eV | lateral bond Ti-Ti | illustrative, not fitted |
| ``E_OO`` | 0.05 | eV | lateral bond O-O | illustrative, not fitted |
| ``hops_enabled`` | 1.0 | - | 0 makes every hop infeasible (random-deposition limit) | the random-deposition tests |
| ``desorption_enabled`` | 1.0 | - | 0 makes every desorption infeasible | the random-deposition tests |
| ``max_steps`` | 1000 | events | episode length (truncation) | the users' SB3 KMC trainer ``max_steps`` |
| ``roughness_weight`` | 1.0 | - | reward weight | the users' SB3 KMC trainer ``w_roughness`` |
| ``coverage_weight`` | 0.5 | - | reward weight | the users' SB3 KMC trainer ``w_coverage`` |
| ``ratio_weight`` | 0.2 | - | reward weight | the users' SB3 KMC trainer ``w_ratio`` |
| ``ess_weight`` | 0.3 | - | reward weight (the ESS penalty, ``ess_penalty``) | the users' SB3 KMC trainer ``w_ess`` |
| ``target_o_ti`` | 2.0 | - | stoichiometric O/Ti of the ratio penalty | TiO2; the users' SB3 KMC trainer ``|O/Ti - 2.0|`` |
| ``ess_target`` | 0.5 | - | ESS ratio below which the ESS penalty (``ess_penalty``) applies | the users' SB3 KMC trainer ``max(0, 0.5 - ESS_ratio)`` |
| ``target_coverage`` | 1.0 | ML | ``objective: rare-event``: the episode ends when this many atoms per column were deposited | jitrl's choice |
| ``threshold`` | 0.5 | unit of the observable | ``objective: rare-event``: the event is ``observable < threshold`` at ``target_coverage`` | jitrl's choice |
| ``rare_lambda`` | 5.0 | - | ``objective: rare-event``: terminal reward ``rare_lambda * 1[event]`` | jitrl's choice |
"""
from __future__ import annotations

#: Boltzmann constant in eV/K (CODATA 2018).
K_B = 8.617333262e-5

# ---- species codes stored in the lattice -------------------------------
EMPTY = 0
TI = 1
O = 2
SPECIES_NAMES = ("empty", "Ti", "O")

# ---- per-column event layout: action = column * NUM_EVENTS + event ------
DEP_TI = 0
DEP_O = 1
HOP_PX = 2  # hop to column (i+1, j)
HOP_MX = 3  # hop to column (i-1, j)
HOP_PY = 4  # hop to column (i, j+1)
HOP_MY = 5  # hop to column (i, j-1)
DESORB = 6
NUM_EVENTS = 7
EVENT_NAMES = ("dep_Ti", "dep_O", "hop+x", "hop-x", "hop+y", "hop-y", "desorb")
#: lattice offsets (di, dj) of the 4 lateral neighbours, in hop order.
NEIGHBOUR_OFFSETS = ((1, 0), (-1, 0), (0, 1), (0, -1))

# ---- defaults (see the table above) -------------------------------------
DEFAULT_LATTICE = (8, 8, 5)
TEMPERATURE = 180.0
NU = 1.0e13
F_TI = 0.1
F_O = 0.2
E_D_TI = 0.30
E_D_O = 0.40
E_DES_TI = 2.0
E_DES_O = 2.5
E_ES = 0.15
E_TIO = 0.30
E_TITI = 0.15
E_OO = 0.05
MAX_STEPS = 1000
ROUGHNESS_WEIGHT = 1.0
COVERAGE_WEIGHT = 0.5
RATIO_WEIGHT = 0.2
ESS_WEIGHT = 0.3
#: stoichiometric O/Ti target of the ratio penalty.
TARGET_O_TI = 2.0
#: ESS ratio below which the ESS penalty (``ess_penalty``) applies (the users' SB3 KMC trainer).
ESS_TARGET = 0.5
