"""Bad input tried as a new user would: every case is refused with exit status 2,
no traceback, and a message naming the field (flag, key or file), the value and
what is allowed. The commands run in-process (their ``main``), so a case costs
no JAX compile; the cases that need a trained run are in tests/test_faults.py.
"""
import glob
import importlib
import os
import textwrap

import pytest

from jitrl.cli import compare, train, validate, watch
from jitrl.cli.common import USAGE
from jitrl.common.files import atomic_write
from jitrl.config import resolve, to_yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--env", "CartPole-v1", "--num-envs", "4", "--num-steps", "8", "--total-timesteps", "64", "--quiet"]


def _files(tmp):
    """The bad files the table refers to, written under ``tmp``; ``{name: path}``."""
    t = str(tmp)

    def put(name, data):
        path = os.path.join(t, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, textwrap.dedent(data) if isinstance(data, str) else data)
        return path

    os.makedirs(os.path.join(t, "folder"), exist_ok=True)
    run = os.path.join(t, "cartpole_run")  # a run directory: its config.yaml is all --env checking needs
    os.makedirs(run, exist_ok=True)
    atomic_write(os.path.join(run, "config.yaml"),
                 to_yaml(resolve(None, {"env.name": "CartPole-v1", "run_name": "cartpole_run"})))
    return {
        "tmp": t,
        "folder": os.path.join(t, "folder"),
        "binary": put("binary.yaml", b"\xff\xfe\x00\x01 not text"),
        "ok": put("ok.yaml", "env: CartPole-v1\nnum_envs: 4\n"),
        "child": put("sub/child.yaml", "extends: ../missing_parent.yaml\nnum_envs: 4\n"),
        "types": put("types.yaml", "env: CartPole-v1\nnetwork: 5\nnum_envs: many\ngamma: [1]\n"),
        "run": run,
        "metrics": put("torn_run/metrics.jsonl", '{"update": 1, "env_steps": 32}\n{"update": 2, "env_st\n'
                       '{"update": 3, "env_steps": 96}\n'),
        "badmetric": put("badmetric.yaml", """\
            env: CartPole-v1
            validation:
              - {metric: mean_episode_retrun, op: ">", value: 10}
            """),
        "badrule": put("badrule.yaml", """\
            name: typo
            stages:
              - spec: ok.yaml
                advance: {when: [{metric: entropyy, op: "<", value: 0.5}]}
            """),
    }


#: (command, argv with {name} placeholders, substrings every one of which the message must hold)
CASES = [
    ("train", TINY + ["--lr", "inf"], ["--lr", "'inf'", "a finite number", "a float > 0"]),
    ("train", TINY + ["--lr", "nan"], ["--lr", "'nan'", "a finite number"]),
    ("train", TINY + ["--gamma=-inf"], ["--gamma", "'-inf'", "a finite number"]),
    ("train", TINY + ["--seed", "4294967296"], ["--seed", "4294967296", "[0, 4294967295]"]),
    ("train", TINY + ["--seed", "99999999999999999999999"], ["--seed", "99999999999999999999999", "4294967295"]),
    ("train", TINY + ["--total-timesteps", "31"], ["--total-timesteps", "31", "at least one batch", "4 x 8 = 32"]),
    ("train", TINY + ["--num-envs", "0"], ["--num-envs", "'0'", ">= 1"]),
    ("train", TINY + ["--num-minibatches", "5"], ["--num-minibatches", "5", "must divide"]),
    ("train", TINY + ["--config", "{folder}"], ["{folder}", "a folder, not a file"]),
    ("train", TINY + ["--config", "{tmp}/nothere.yaml"], ["nothere.yaml", "file not found"]),
    ("train", TINY + ["--config", "{binary}"], ["binary.yaml", "not a UTF-8 text file", "byte 0"]),
    ("train", TINY + ["--config", "{child}"], ["child.yaml", "extends", "missing_parent.yaml", "no such file"]),
    ("train", TINY + ["--config", "{types}"], ["network: 5", "num_envs: 'many'", "an integer", "gamma: [1]",
                                               "a float in [0, 1]"]),
    ("train", ["--resume", "{folder}"], ["--resume", "not a run directory"]),
    ("train", TINY + ["--no-such-flag"], ["unrecognized arguments", "--no-such-flag"]),
    ("train", ["--env", "CartPole-v1", "--num-envs", "100000000000", "--num-steps", "8", "--total-timesteps",
               "1000000000000000", "--checkpoint-dir", "{tmp}/runs", "--quiet"],
     ["num_envs x num_steps = 100000000000 x 8", "needs at least", "GiB", "has", "lower --num-envs"]),
    ("train", TINY + ["--checkpoint-dir", "{ok}/runs"], ["checkpoint_dir", "ok.yaml is a file, not a folder"]),
    ("validate", ["--check", "{binary}", "{ok}"], ["binary.yaml", "not a UTF-8 text file"]),
    ("validate", ["--check", "{types}", "{ok}"], ["network: 5", "num_envs: 'many'", "gamma: [1]"]),
    ("validate", ["--check", "{badmetric}"], ["validation[0].metric", "'mean_episode_retrun'",
                                              "did you mean mean_episode_return", "allowed:", "approx_kl"]),
    ("validate", ["--check", "{badrule}"], ["stages[0].advance.when[0].metric", "'entropyy'",
                                            "did you mean entropy", "allowed:"]),
    ("watch", ["--checkpoint", "{run}", "--episodes", "0", "--no-show"], ["--episodes", "0", ">= 1"]),
    ("watch", ["--checkpoint", "{run}", "--seed", "-1", "--no-show"], ["--seed", "-1", "[0, 4294967295]"]),
    ("watch", ["--checkpoint", "{run}", "--env", "Acrobot-v1", "--no-show"],
     ["--env", "'Acrobot-v1'", "CartPole-v1 agent", "leave --env out"]),
    ("watch", ["--checkpoint", "{run}", "--gif", "{tmp}/no/such/folder/x.gif", "--no-show"],
     ["--gif", "x.gif", "does not exist"]),
    ("watch", ["--random", "--env", "CartPole-v1", "--gif", "{tmp}/x.gif", "--no-show"],
     ["--gif", "no RGB renderer", "CartPole-v1"]),
    ("watch", ["--checkpoint", "{folder}", "--no-show"], ["--checkpoint", "not a run directory"]),
    ("compare", ["{tmp}/torn_run", "--out", "{tmp}"], ["metrics.jsonl", "line 2", "not a JSON record"]),
]
MAINS = {"train": train.main, "validate": validate.main, "watch": watch.main, "compare": compare.main}


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return _files(tmp_path_factory.mktemp("bad_input"))


@pytest.mark.parametrize("command,argv,expect", CASES, ids=[f"{c}:{' '.join(a[len(TINY):] if c == 'train' else a)}"
                                                            for c, a, _ in CASES])
def test_refused_with_one_clear_message(files, capsys, command, argv, expect):
    argv = [a.format(**files) for a in argv]
    try:
        rc = MAINS[command](argv)
    except SystemExit as exc:  # argparse's own refusals exit
        rc = exc.code
    out, err = capsys.readouterr()
    text = out + err
    assert rc == USAGE, text
    assert "Traceback" not in text
    for piece in expect:
        assert piece.format(**files) in text, (piece, text)
    assert "error:" in err


def test_check_continues_after_a_bad_file(files, capsys):
    """validate_spec --check reports the binary file and still checks (and passes) the next one."""
    rc = validate.main(["--check", files["binary"], files["ok"]])
    out, err = capsys.readouterr()
    assert rc == USAGE and f"ok: {files['ok']}" in out and "binary.yaml" in err


def test_every_script_goes_through_one_error_path():
    """Each script calls a ``jitrl.cli`` main wrapped by ``cli.common.guarded`` (ConfigError, OSError,
    Ctrl-C -> one line and an exit status) and ends through ``cli.common.exit_with`` (after a Ctrl-C,
    no crash in the interpreter's teardown), every command parses with ``CleanParser``, and no command
    module prints an ``error:`` line itself."""
    scripts = sorted(glob.glob(os.path.join(ROOT, "scripts", "*.py")))
    assert len(scripts) >= 7
    for path in scripts:
        src = open(path).read()
        mod = [line.split()[1] for line in src.splitlines()
               if line.strip().startswith("from jitrl.cli.") and line.strip().endswith(" import main")]
        assert mod, f"{path} does not call a jitrl.cli main"
        assert src.rstrip().endswith("exit_with(main())"), f"{path} does not end with exit_with(main())"
        main = importlib.import_module(mod[0]).main
        assert getattr(main, "_jitrl_guarded", False), f"{mod[0]}.main is not wrapped by cli.common.guarded"
    for path in glob.glob(os.path.join(ROOT, "python", "jitrl", "cli", "*.py")):
        if os.path.basename(path) in ("common.py", "__init__.py"):
            continue
        src = open(path).read()
        assert "ArgumentParser(" not in src, f"{path}: parse with cli.common.CleanParser"
        assert '"error:' not in src and "'error:" not in src and 'f"error:' not in src, \
            f"{path}: print problems with cli.common.print_problems"
