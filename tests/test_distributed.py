"""Multi-process training through jax.distributed, on loopback: two processes with one CPU device
each (gloo collectives) against one process with two forced CPU devices; a process killed mid-run
ends the other with one clear message in bounded time; both restarted resume from the last
checkpoint, which process 0 alone wrote and a single-process run reads."""
import json
import os
import socket
import subprocess
import sys
import time

import jax
import numpy as np

from jitrl.training.replay import load_policy

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "scripts", "train_purejaxrl.py")
UPDATES = 8
#: the training script, slowed by ``delay`` s per chunk so that a process can be killed mid-run
DRIVER = (
    "import sys, time\n"
    "import jitrl.cli.train as t\n"
    "d = float(sys.argv.pop(1))\n"
    "cb = t.ess_callbacks\n"
    "t.ess_callbacks = lambda cfg, prior: list(cb(cfg, prior)) + ([lambda rec: time.sleep(d)] if d else [])\n"
    "sys.exit(t.main(sys.argv[1:]))\n"
)


def _args(ckpt_dir):
    return ["--env", "CartPole-v1", "--num-envs", "4", "--num-steps", "8", "--total-timesteps", str(32 * UPDATES),
            "--log-interval", "1", "--checkpoint-interval", "1", "--no-auto-scale", "--replay-steps", "0",
            "--checkpoint-dir", str(ckpt_dir), "--run-name", "r"]


def _env(devices=1, **launch):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_COORDINATOR", "JAX_NUM_PROC", "JAX_PROCESS"))}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS=f"--xla_force_host_platform_device_count={devices}",
               PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "python"), env.get("PYTHONPATH", "")]))
    env.update({k: str(v) for k, v in launch.items()})
    return env


def _launch(ckpt_dir, port, delay, extra=()):
    """Both processes; the launch variables set the way scripts/train_purejaxrl.py's flags set them."""
    procs = []
    for pid in (0, 1):
        env = _env(JAX_COORDINATOR_ADDRESS=f"127.0.0.1:{port}", JAX_NUM_PROCESSES=2, JAX_PROCESS_ID=pid,
                   JITRL_HEARTBEAT_TIMEOUT_S=10, JITRL_SHUTDOWN_TIMEOUT_S=10)
        procs.append(subprocess.Popen([sys.executable, "-c", DRIVER, str(delay), *extra], env=env, cwd=ROOT,
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    return procs


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _params(run_dir):
    _cfg, _env_, _p, _net, params, meta = load_policy(str(run_dir))  # a single-process read
    return meta["update"], np.concatenate([np.asarray(x, np.float64).ravel() for x in jax.tree_util.tree_leaves(params)])


def test_two_processes_match_two_devices_survive_a_kill_and_resume(tmp_path):
    # the reference: one process, two forced CPU devices, uninterrupted (flags via the real script)
    one = subprocess.run([sys.executable, SCRIPT, *_args(tmp_path / "one"), "--quiet"], env=_env(devices=2),
                         cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert one.returncode == 0, one.stderr[-2000:]

    # two processes, one device each, slowed; process 1 killed once a checkpoint past update 2 exists
    run_dir = tmp_path / "two" / "r"
    p0, p1 = _launch(tmp_path / "two", _free_port(), delay=0.5, extra=_args(tmp_path / "two"))
    deadline = time.time() + 240
    while time.time() < deadline and p0.poll() is None:
        ckpts = run_dir / "checkpoints"
        if ckpts.is_dir() and any(d.isdigit() and int(d) >= 2 for d in os.listdir(ckpts)):
            break
        time.sleep(0.1)
    assert p0.poll() is None, p0.communicate()[1][-2000:]
    p1.kill()
    killed = time.time()
    out0, err0 = p0.communicate(timeout=60)
    waited = time.time() - killed
    p1.communicate()
    # one clear line, within the heartbeat timeout (10 s) and some slack, and no hang
    assert p0.returncode == 3, err0[-2000:]
    assert waited < 40
    lines = [line for line in err0.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "process 0 of 2" in lines[0] and f"--resume {run_dir}" in lines[0], err0[-2000:]
    done_before = max(json.loads(line)["update"] for line in open(run_dir / "metrics.jsonl"))
    assert done_before < UPDATES

    # both restarted: resume from the last checkpoint, finish, and match the two-device run
    port = _free_port()
    q0, q1 = _launch(tmp_path / "two", port, delay=0, extra=["--resume", str(run_dir)])
    (out0, err0), (out1, err1) = q0.communicate(timeout=300), q1.communicate(timeout=300)
    assert (q0.returncode, q1.returncode) == (0, 0), err0[-2000:] + err1[-2000:]
    assert f"Resumed {run_dir} at update" in out0
    assert "Update " not in out1 and "Saved checkpoint" not in out1  # process 0 alone logs
    updates = [json.loads(line)["update"] for line in open(run_dir / "metrics.jsonl")]
    assert updates == list(range(1, UPDATES + 1))  # each update logged once
    (s1, ref), (s2, got) = _params(tmp_path / "one" / "r"), _params(run_dir)
    assert s1 == s2 == UPDATES
    # same keys and data; the float reductions run over gloo instead of in one process
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-5)
