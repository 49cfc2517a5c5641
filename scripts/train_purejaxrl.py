#!/usr/bin/env python
"""Train PPO in one jitted program. See `--help` and README.md."""
import os
import sys

#: the launch flags of a multi-process run (jax.distributed) and the variables they set; set here,
#: before jitrl is imported, because importing it (gymnax) already starts JAX (jitrl/common/launch.py)
_LAUNCH = {"--coordinator-address": "JAX_COORDINATOR_ADDRESS", "--num-processes": "JAX_NUM_PROCESSES",
           "--process-id": "JAX_PROCESS_ID", "--heartbeat-timeout": "JITRL_HEARTBEAT_TIMEOUT_S"}
for _i, _arg in enumerate(sys.argv[1:], 1):
    _flag, _eq, _value = _arg.partition("=")
    if _flag in _LAUNCH and (_eq or _i + 1 < len(sys.argv)):
        os.environ[_LAUNCH[_flag]] = _value if _eq else sys.argv[_i + 1]

try:
    from jitrl.cli.common import exit_with
    from jitrl.cli.train import main
except ValueError as exc:  # a launch variable that cannot be used (jitrl.common.launch.LaunchError)
    sys.stderr.write(f"error: {exc}\n")
    sys.exit(2)

if __name__ == "__main__":
    exit_with(main())
