"""--wandb: the same metrics (names, steps, values) as TensorBoard and metrics.jsonl, the resolved
config and the replay GIF, read back from the offline run's own record file (no network)."""
import glob
import json
import os
import struct
import sys

import pytest
from wandb.proto import wandb_internal_pb2 as pb

import jitrl
from jitrl.cli.train import main as train_main
from jitrl.training.runlog import read_metrics
from toys import Painter

BLOCK = 32768  # the .wandb file: a ":W&B" header, then LevelDB-log records in 32 KiB blocks


def wandb_records(path):
    data = open(path, "rb").read()
    assert data[:4] == b":W&B"
    pos, buf, out = 7, b"", []
    while pos + 7 <= len(data):
        if BLOCK - pos % BLOCK < 7:  # block trailer padding
            pos += BLOCK - pos % BLOCK
            continue
        _crc, n, kind = struct.unpack("<IHB", data[pos:pos + 7])
        chunk, pos = data[pos + 7:pos + 7 + n], pos + 7 + n
        if kind == 0:
            continue
        buf = chunk if kind in (1, 2) else buf + chunk  # FULL/FIRST start a record, MIDDLE/LAST extend it
        if kind in (1, 4):
            rec = pb.Record()
            rec.ParseFromString(buf)
            out.append(rec)
    return out


def _history(records):
    rows = {}
    for r in records:
        if r.WhichOneof("record_type") == "history":
            row = {"/".join(i.nested_key) or i.key: json.loads(i.value_json) for i in r.history.item}
            rows[row["_step"]] = {**rows.get(row["_step"], {}), **row}
    return rows


ARGS = ["--env", "painter-test", "--num-envs", "4", "--num-steps", "8", "--total-timesteps", "96",
        "--log-interval", "1", "--no-auto-scale", "--quiet", "--run-name", "wb"]


def test_wandb_offline_logs_tensorboard_metrics_config_and_replay(tmp_path, monkeypatch):
    monkeypatch.setenv("WANDB_MODE", "offline")
    jitrl.register("painter-test", Painter)
    rc = train_main(ARGS + ["--checkpoint-dir", str(tmp_path), "--wandb", "--wandb-project", "jitrl-test",
                            "--lr", "0.001"])
    assert rc == 0
    run_dir = tmp_path / "wb"
    (path,) = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "run-*.wandb"))
    records = wandb_records(path)
    (run,) = [r.run for r in records if r.WhichOneof("record_type") == "run"]
    assert run.project == "jitrl-test" and run.display_name == "wb"
    assert run.run_id == open(run_dir / "wandb_id").read().strip()
    config = {i.key: json.loads(i.value_json) for i in run.config.update}
    assert config["learning_rate"] == 0.001 and config["num_envs"] == 4 and config["env.name"] == "painter-test"
    assert config["wandb"] is True and config["total_timesteps"] == 96
    # every logged update at its env_steps, with the values of metrics.jsonl
    history = _history(records)
    logged = read_metrics(str(run_dir))
    assert [r["env_steps"] for r in logged] == [32, 64, 96] and set(history) == {32, 64, 96}
    tb_blob = b"".join(open(f, "rb").read() for f in glob.glob(str(run_dir / "tb" / "*tfevents*")))
    video = "replay/final_policy"  # a media value: its fields under video/_type, video/path, ...
    names = {k.split("/_type")[0] for row in history.values() for k in row
             if not k.startswith("_") and (not k.startswith(video + "/") or k.endswith("/_type"))}
    assert "train/approx_kl" in names and video in names
    for name in names:  # the same names as the TensorBoard tags
        assert name.encode() in tb_blob, name
    for rec in logged:
        row = history[rec["env_steps"]]
        assert row["train/approx_kl"] == pytest.approx(rec["approx_kl"], rel=1e-6)
        assert row["train/sps"] == pytest.approx(rec["sps"], rel=1e-6)
    last = history[96]
    assert last[video + "/_type"] == "video-file" and last[video + "/path"].endswith(".gif")
    gif = glob.glob(str(run_dir / "wandb" / "offline-run-*" / "files" / last[video + "/path"]))
    assert gif and open(gif[0], "rb").read(6) == b"GIF89a"


def test_wandb_missing_is_one_message_exit_2(tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import wandb -> ImportError
    rc = train_main(ARGS + ["--checkpoint-dir", str(tmp_path), "--wandb"])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("error:") == 1 and "wandb: true -- the wandb package is not installed" in err
    assert not os.path.exists(tmp_path / "wb")  # stopped before the run directory was made
