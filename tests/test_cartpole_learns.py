"""Learning outcome: CartPole-v1 reaches its maximum return with PureJaxRL's
reference settings (4 envs x 128 steps, 4 epochs x 4 minibatches, LR 2.5e-4
annealed, 5e5 steps), on each of 3 seeds trained together (vmapped)."""
import pytest

from jitrl.config import resolve
from jitrl.training import Trainer


@pytest.mark.slow
def test_cartpole_reaches_475_on_three_seeds(tmp_path):
    cfg = resolve(None, {
        "env.name": "CartPole-v1", "num_envs": "4", "num_steps": "128", "update_epochs": "4",
        "num_minibatches": "4", "learning_rate": "2.5e-4", "anneal_lr": "true", "total_timesteps": "500000",
        "num_seeds": "3", "seed": "0", "log_interval": "61", "checkpoint_interval": "1000",
        "checkpoint_dir": str(tmp_path), "run_name": "cartpole", "network.net_arch": "64,64",
        "network.activation_fn": "tanh",
    })
    assert cfg.num_updates() == 976
    res = Trainer(cfg, quiet=True).run()
    assert res.stop_reason == "done"
    # Mean return over the episodes completed in the last 61 updates (~31k steps), per seed.
    final = res.records[-1]["mean_episode_return_seeds"]
    assert len(final) == 3
    assert all(r is not None and r >= 475 for r in final), final
