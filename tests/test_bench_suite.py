"""The prepared GPU benchmark's plan (scripts/gpu_bench.sh runs `bench.py --suite gpu`): the cases the
issue asks for, env-only and training each, listed without running anything."""
import os
import subprocess

from jitrl.cli.bench import main as bench_main
from jitrl.workflow.bench import format_table, suite_cases


def test_gpu_suite_plans_the_required_cases(capsys):
    assert bench_main(["--suite", "gpu", "--dry-run"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    planned = {(c["case"], c["env"], c["num_envs"], c["lattice"]) for c in suite_cases("gpu")}
    assert len(lines) == len(planned) == 12
    for case in ("env", "train"):
        for env, n, lattice in (("CartPole-v1", 2048, None), ("CartPole-v1", 16384, None),
                                ("hackmatrix", 2048, None), ("hackmatrix", 8192, None)):
            assert (case, env, n, lattice) in planned
        assert {lat for c, e, _, lat in planned if (c, e) == (case, "kmc-tio2")} == {"8,8,5", "50,50,20"}
    # the tiny suite is the same cases at toy sizes (the CPU check of the same path)
    tiny = {(c["case"], c["env"], c["lattice"] is None) for c in suite_cases("gpu-tiny")}
    assert tiny == {(c, e, lat is None) for c, e, _, lat in planned}


def test_table_pairs_env_and_train_rows_of_the_same_env():
    rows = [{"case": "env", "env": "A", "num_envs": 8, "sps": 100.0, "compile_s": 1.0, "host_rss_mb": 1.0},
            {"case": "env", "env": "B", "num_envs": 8, "sps": 1000.0, "compile_s": 1.0, "host_rss_mb": 1.0},
            {"case": "train", "env": "A", "num_envs": 8, "sps": 50.0, "compile_s": 1.0, "host_rss_mb": 1.0}]
    assert "env share of a training step at 8 envs: 50%" in format_table(rows)


def test_gpu_bench_script_is_valid_bash():
    script = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts", "gpu_bench.sh")
    assert subprocess.run(["bash", "-n", script]).returncode == 0
