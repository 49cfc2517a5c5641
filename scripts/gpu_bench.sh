#!/usr/bin/env bash
# The prepared GPU benchmark: on a machine with an NVIDIA GPU, install the CUDA wheels of the jax
# version installed here and run the `gpu` suite of scripts/bench.py (CartPole at 2048 and 16384
# envs, hackmatrix at 2048 and 8192, kmc-tio2 at 8x8x5 and 50x50x20; env-only and training each),
# printing one table, within 8 minutes (a case that runs past its own limit is reported as an error).
#   scripts/gpu_bench.sh                 # install + run; the table also goes to gpu_bench.json
#   JAX_CUDA_EXTRA=cuda13 scripts/gpu_bench.sh   # CUDA 13 wheels instead of CUDA 12
#   scripts/gpu_bench.sh --no-install    # wheels already there
#   GPU_BENCH_TIMEOUT=3600 scripts/gpu_bench.sh --suite gpu-tiny --no-install   # the same path on a CPU, toy sizes
set -euo pipefail
cd "$(dirname "$0")/.."
install=1
args=()
for a in "$@"; do
  if [ "$a" = "--no-install" ]; then install=0; else args+=("$a"); fi
done
if [ "$install" = 1 ]; then
  version=$(python -c "import jax; print(jax.__version__)")
  python -m pip install -q -U "jax[${JAX_CUDA_EXTRA:-cuda12}]==${version}"
fi
python -c "import jax; print('jax', jax.__version__, 'backend', jax.default_backend(), jax.devices())"
export PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}"
suite=(--suite gpu)
for a in "${args[@]+"${args[@]}"}"; do [ "$a" = "--suite" ] && suite=(); done
timeout "${GPU_BENCH_TIMEOUT:-480}" python scripts/bench.py "${suite[@]+"${suite[@]}"}" --timeout 150 --json "${GPU_BENCH_JSON:-gpu_bench.json}" "${args[@]+"${args[@]}"}"
