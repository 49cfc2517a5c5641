"""Speed and memory benchmarks (``scripts/bench.py``, parsed by :mod:`jitrl.cli.bench`).

Two cases per env and batch size, each in its own subprocess so that peak
memory is the case's own:

* ``env``: the env alone -- ``num_steps`` vmapped steps in one ``lax.scan``,
  observations encoded (training pays for them; ``--no-obs`` leaves them out),
  actions drawn uniformly among legal ones (a rate env: from its physical
  rates, i.e. the neutral policy, so KMC "events/s" are plain BKL events;
  drawn by the env's own ``sample_physical`` where it has one, which is the
  same law as the dense fused logits and cheaper).
* ``train``: full PPO updates (rollout + GAE + minibatch epochs) in one
  jitted chunk, with the config the train script would resolve (auto-scaled
  unless told otherwise).
* ``phases``: where one update's time goes -- rollout, GAE, shuffle, minibatch
  gathers, forward/backward, optimizer -- each phase compiled and timed alone
  (:func:`bench_phases`), beside the whole update.

Reported: env steps per second (all envs together, after compilation),
compile seconds, and peak memory (device peak where the backend reports it,
else the process's peak resident set). Each case imports only what it runs
(inside its function), so the env case's peak memory has no training stack in it.
"""
from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from typing import Any, Dict, List


def _peak_memory_mb() -> Dict[str, float]:
    import jax

    out = {"host_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0}
    try:
        stats = jax.devices()[0].memory_stats() or {}
        if "peak_bytes_in_use" in stats:
            out["device_peak_mb"] = stats["peak_bytes_in_use"] / 2**20
    except Exception:  # CPU backends may not report
        pass
    return out


def _env_kwargs(args: Dict[str, Any]) -> Dict[str, Any]:
    kw = dict(args.get("env_params") or {})
    if args.get("lattice"):
        kw["lattice_size"] = tuple(int(x) for x in str(args["lattice"]).split(","))
    return kw


def bench_env(env_name: str, num_envs: int, num_steps: int, repeats: int, env_kwargs: Dict[str, Any],
              with_obs: bool = True, with_reset: bool = True) -> Dict[str, Any]:
    import jax
    import jax.numpy as jnp

    from jitrl.envs import make
    from jitrl.ppo.acting import make_acting

    env, params = make(env_name, **env_kwargs)
    acting = make_acting(env, params)
    physical = {"used": False}

    def rollout(carry, _):
        state, key = carry
        key, k_act, k_env = jax.random.split(key, 3)
        # the env's own exact sampler of its physical law where it has one (a rate
        # env's Gamma_a / Z: the neutral policy's law), else the acting distribution
        # with all policy logits equal
        action = jax.vmap(env.sample_physical, in_axes=(0, 0, None))(
            jax.random.split(k_act, num_envs), state, params
        )
        physical["used"] = action is not None
        if action is None:
            law = jax.vmap(env.action_law, in_axes=(0, None))(state, params)
            logits = acting.logits(jnp.zeros((num_envs, env.num_actions(params)), jnp.float32), law)
            action = acting.env_action(acting.sample(k_act, logits))
        # with_reset False: step_env, no auto-reset (a long simulation, as kmc_simulate runs it)
        obs, state, reward, term, trunc, _ = jax.vmap(env.step if with_reset else env.step_env,
                                                      in_axes=(0, 0, 0, None))(
            jax.random.split(k_env, num_envs), state, action, params
        )
        out = jnp.sum(reward) + jnp.sum(term) + jnp.sum(trunc)
        if with_obs:  # consume the observation so XLA cannot drop its encoding
            out = out + jnp.sum(obs)
        return (state, key), out

    def run(state, key):
        (state, key), out = jax.lax.scan(rollout, (state, key), None, length=num_steps)
        return state, key, jnp.sum(out)

    key = jax.random.PRNGKey(0)
    _, state = jax.jit(jax.vmap(env.reset, in_axes=(0, None)))(jax.random.split(key, num_envs), params)
    fn = jax.jit(run, donate_argnums=0)
    t0 = time.perf_counter()
    compiled = fn.lower(state, key).compile()
    compile_s = time.perf_counter() - t0
    state, key, chk = compiled(state, key)
    jax.block_until_ready(chk)
    t0 = time.perf_counter()
    for _ in range(repeats):
        state, key, chk = compiled(state, key)
    jax.block_until_ready(chk)
    dt = time.perf_counter() - t0
    out = {"sps": num_envs * num_steps * repeats / dt, "compile_s": compile_s, "seconds": dt}
    out["config"] = "neutral policy, " + ("env's own physical sampler" if physical["used"] else f"{acting.name} logits")
    return out


def bench_train(env_name: str, num_envs: int, num_steps: int, repeats: int, env_kwargs: Dict[str, Any],
                flags: Dict[str, str]) -> Dict[str, Any]:
    import jax

    from jitrl.training import Trainer

    cfg = _train_config(env_name, num_envs, num_steps, env_kwargs, flags)
    trainer = Trainer(cfg, quiet=True)
    rs = trainer.init_state()
    per_chunk = 1
    fn = trainer.chunk_fn(per_chunk, rs)
    compile_s = trainer.compile_s
    rs, m = fn(rs)
    jax.block_until_ready(m)
    t0 = time.perf_counter()
    for _ in range(repeats):
        rs, m = fn(rs)
    jax.block_until_ready(m)
    dt = time.perf_counter() - t0
    p = cfg.ppo
    return {
        "sps": p.batch_size * repeats * trainer.num_seeds / dt,
        "compile_s": compile_s,
        "seconds": dt,
        "config": f"{p.num_minibatches} mb x {p.update_epochs} ep, lr {p.learning_rate:.3g}, net {cfg.network.kind}"
                  f" {list(cfg.network.net_arch)}",
    }


def _train_config(env_name: str, num_envs: int, num_steps: int, env_kwargs: Dict[str, Any], flags: Dict[str, str]):
    from jitrl.config import resolve

    base = {"env.name": env_name, "num_envs": str(num_envs), "num_steps": str(num_steps),
            "total_timesteps": str(num_envs * num_steps * 10_000), "checkpoint_dir": "/tmp/jitrl-bench",
            "run_name": "bench"}
    base.update(flags)
    cfg = resolve(None, base)
    if env_kwargs:
        from jitrl.config import EnvSpec

        cfg = cfg.replace(env=EnvSpec(name=env_name, params=tuple(sorted({**cfg.env.overrides(), **env_kwargs}.items()))))
    return cfg


def _time_compiled(fn, args, repeats: int):
    """(best seconds per call, compile seconds) of ``jit(fn)`` on ``args`` (not donated)."""
    import jax

    t0 = time.perf_counter()
    compiled = jax.jit(fn).lower(*args).compile()
    compile_s = time.perf_counter() - t0
    jax.block_until_ready(compiled(*args))
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        jax.block_until_ready(compiled(*args))
        best = min(best, time.perf_counter() - t0)
    return best, compile_s


def bench_phases(env_name: str, num_envs: int, num_steps: int, repeats: int, env_kwargs: Dict[str, Any],
                 flags: Dict[str, str]) -> Dict[str, Any]:
    """Where one PPO update's time goes: each phase compiled and timed alone (best of
    ``repeats``), scaled to its count per update, next to the whole update.

    Phases: ``rollout`` (env + network + sampling, ``num_steps`` steps), ``gae``
    (advantages and the flattened batch), ``shuffle`` (one epoch's row permutation),
    ``gather`` (one epoch's minibatch gathers, permutation excluded, each gathered
    minibatch summed so that XLA keeps every gather),
    ``minibatch`` (loss forward + backward + clipped Adam on one gathered minibatch;
    ``forward_backward`` and ``optimizer`` split it). The phases' sum may differ
    from the whole update (XLA fuses and schedules across phase boundaries).
    """
    import jax
    import jax.numpy as jnp

    from jitrl.ppo.learner import learning_rate_at
    from jitrl.ppo.state import HParams
    from jitrl.training.program import build_program

    cfg = _train_config(env_name, num_envs, num_steps, env_kwargs, flags)
    p = cfg.ppo
    _, _, _, prog = build_program(cfg)
    rs = jax.jit(prog.init)(jax.random.PRNGKey(0), HParams.from_config(p))
    hp = rs.hparams
    per_update = {"rollout": 1, "gae": 1, "shuffle": p.update_epochs, "gather": p.update_epochs,
                  "minibatch": p.update_epochs * p.num_minibatches,
                  "forward_backward": p.update_epochs * p.num_minibatches,
                  "optimizer": p.update_epochs * p.num_minibatches}
    secs: Dict[str, float] = {}
    comp: Dict[str, float] = {}
    secs["rollout"], comp["rollout"] = _time_compiled(prog.rollout, (rs,), repeats)
    _, traj, last_value, _ = jax.jit(prog.rollout)(rs)
    secs["gae"], comp["gae"] = _time_compiled(lambda t, v, h: prog.flat_batch(t, v, h)[0], (traj, last_value, hp),
                                              repeats)
    flat = jax.jit(lambda t, v, h: prog.flat_batch(t, v, h)[0])(traj, last_value, hp)
    secs["shuffle"], comp["shuffle"] = _time_compiled(prog.minibatch_rows, (rs.key,), repeats)
    rows = jax.jit(prog.minibatch_rows)(rs.key)

    def gather(flat, rows):
        def body(c, r):
            mb = jax.tree_util.tree_map(lambda x: jnp.take(x, r, axis=0), flat)
            # consume every gathered entry (one fused reduction) so no gather is dropped
            return c + sum(jnp.sum(x.astype(jnp.float32)) for x in jax.tree_util.tree_leaves(mb)), None

        return jax.lax.scan(body, jnp.float32(0), rows)[0]

    secs["gather"], comp["gather"] = _time_compiled(gather, (flat, rows), repeats)
    mb = jax.tree_util.tree_map(lambda x: jnp.take(x, rows[0], axis=0), flat)
    lr = learning_rate_at(hp, rs.update, prog.num_updates, p.anneal_lr)
    carry = (rs.params, rs.opt_state)
    secs["minibatch"], comp["minibatch"] = _time_compiled(lambda c, m, h: prog.minibatch_step(c, m, h, lr),
                                                          (carry, mb, hp), repeats)
    grad = lambda pa, m, h: prog.loss_and_grad(pa, m, h)[1]  # noqa: E731
    secs["forward_backward"], comp["forward_backward"] = _time_compiled(grad, (rs.params, mb, hp), repeats)
    g = jax.jit(grad)(rs.params, mb, hp)
    secs["optimizer"], comp["optimizer"] = _time_compiled(
        lambda pa, o, gr, h: prog._apply(pa, o, gr, h, lr), (rs.params, rs.opt_state, g, hp), repeats)
    update_s, update_compile = _time_compiled(prog.update, (rs,), max(1, repeats // 2))
    phases = {k: secs[k] * per_update[k] for k in secs}
    return {
        "sps": p.batch_size / update_s,
        "compile_s": update_compile,
        "seconds": update_s,
        "update_ms": 1000 * update_s,
        "phases_ms": {k: round(1000 * v, 2) for k, v in phases.items()},
        "phase_calls": per_update,
        "phase_compile_s": {k: round(v, 2) for k, v in comp.items()},
        "config": f"{p.num_minibatches} mb x {p.update_epochs} ep, net {cfg.network.kind} {list(cfg.network.net_arch)}",
    }


def run_case(args: Dict[str, Any]) -> Dict[str, Any]:
    import jax

    kw = _env_kwargs(args)
    if args["case"] == "env":
        out = bench_env(args["env"], args["num_envs"], args["num_steps"], args["repeats"], kw,
                        with_obs=args.get("with_obs", True), with_reset=args.get("with_reset", True))
        if not args.get("with_obs", True):
            out["config"] = (out.get("config", "") + " no obs").strip()
        if not args.get("with_reset", True):
            out["config"] = (out.get("config", "") + " no reset").strip()
    elif args["case"] == "phases":
        out = bench_phases(args["env"], args["num_envs"], args["num_steps"], args["train_repeats"], kw,
                           args.get("flags", {}))
    else:
        out = bench_train(args["env"], args["num_envs"], args["num_steps"], args["train_repeats"], kw,
                          args.get("flags", {}))
    out.update(_peak_memory_mb())
    out.update(case=args["case"], env=args["env"], num_envs=args["num_envs"], num_steps=args["num_steps"],
               lattice=args.get("lattice"), env_params=args.get("env_params") or {}, device=str(jax.devices()[0].device_kind), backend=jax.default_backend(),
               num_devices=jax.device_count())
    return out


#: preset suites: (env, num_envs list, lattice or None, num_steps, cases). ``gpu`` is the one prepared
#: GPU command (scripts/gpu_bench.sh): env-only and training for each size; the 50x50x20 lattice trains
#: at 64 envs x 16 steps (the per-site network's activations of a minibatch grow with sites x samples:
#: 50,000 sites x 2048 envs would need hundreds of GB). ``gpu-tiny`` runs the same cases at toy sizes,
#: to check the path end to end on a CPU.
BOTH = ("env", "train")
SUITES = {
    "gpu": (("CartPole-v1", (2048, 16384), None, 128, BOTH),
            ("hackmatrix", (2048, 8192), None, 128, BOTH),
            ("kmc-tio2", (2048,), "8,8,5", 128, BOTH),
            ("kmc-tio2", (2048,), "50,50,20", 64, ("env",)),
            ("kmc-tio2", (64,), "50,50,20", 16, ("train",))),
    "gpu-tiny": (("CartPole-v1", (8, 16), None, 8, BOTH),
                 ("hackmatrix", (8, 16), None, 8, BOTH),
                 ("kmc-tio2", (8,), "4,4,3", 8, BOTH),
                 ("kmc-tio2", (8,), "6,6,4", 8, ("env",)),
                 ("kmc-tio2", (4,), "6,6,4", 8, ("train",))),
}


def suite_cases(name: str, repeats: int = 3, train_repeats: int = 2) -> List[Dict[str, Any]]:
    """The case arguments of a preset suite (each for :func:`subprocess_case`), in order."""
    return [{"case": case, "env": env, "num_envs": n, "num_steps": steps, "lattice": lattice, "repeats": repeats,
             "train_repeats": train_repeats, "flags": {}, "with_obs": True}
            for env, sizes, lattice, steps, cases in SUITES[name] for n in sizes for case in cases]


def subprocess_case(args: Dict[str, Any], timeout: int) -> Dict[str, Any]:
    cmd = [sys.executable, "-c", "import json,sys; from jitrl.workflow.bench import run_case; "
           "print('@@' + json.dumps(run_case(json.loads(sys.argv[1]))))", json.dumps(args)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {**args, "error": f"timed out after {timeout} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("@@"):
            return json.loads(line[2:])
    tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
    return {**args, "error": " | ".join(tail)}


def format_table(rows: List[Dict[str, Any]]) -> str:
    head = f"{'case':6} {'env':12} {'lattice':9} {'envs':>6} {'steps/s':>13} {'compile s':>9} {'peak MB':>9}  notes"
    lines = [head, "-" * len(head)]
    for r in rows:
        mem = r.get("device_peak_mb", r.get("host_rss_mb"))
        if "error" in r:
            lines.append(f"{r['case']:6} {r['env']:12} {str(r.get('lattice') or '-'):9} {r['num_envs']:>6}  ERROR {r['error']}")
            continue
        note = " ".join([r.get("config", "")] + [f"{k}={v}" for k, v in sorted((r.get("env_params") or {}).items())])
        lines.append(
            f"{r['case']:6} {r['env']:12} {str(r.get('lattice') or '-'):9} {r['num_envs']:>6} {r['sps']:>13,.0f} "
            f"{r['compile_s']:>9.1f} {mem:>9.0f}  {note}"
        )
    for r in rows:
        if "phases_ms" in r:
            total = r["update_ms"]
            lines.append(f"  one update at {r['num_envs']} envs: {total:,.0f} ms; phases alone (ms per update, share):")
            for k, v in r["phases_ms"].items():
                lines.append(f"    {k:17} {v:>10,.1f}  {100 * v / total:5.1f}%  ({r['phase_calls'][k]} calls)")
    env_rows = {(r["env"], r["num_envs"], r.get("lattice")): r for r in rows if r["case"] == "env" and "error" not in r}
    for r in rows:
        e = env_rows.get((r["env"], r["num_envs"], r.get("lattice")))
        if r["case"] == "train" and e and "error" not in r:
            share = r["sps"] / e["sps"]
            lines.append(f"  env share of a training step at {r['num_envs']} envs: {100 * share:.0f}% "
                         f"(train steps/s / env-only steps/s)")
    if rows:
        r0 = rows[0]
        lines.append(f"  backend {r0.get('backend')}, device {r0.get('device')} x {r0.get('num_devices')}")
    return "\n".join(lines)
