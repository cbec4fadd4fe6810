"""The TensorBoard reader on files written by tensorboardX and on the real event files."""

from __future__ import annotations

import os
import struct
import time
from pathlib import Path

import numpy as np
import pytest

tbx = pytest.importorskip("tensorboardX")
from tensorboardX.event_file_writer import EventFileWriter  # noqa: E402
from tensorboardX.record_writer import RecordWriter  # noqa: E402
from tensorboardX.proto import event_pb2, summary_pb2, tensor_pb2, tensor_shape_pb2  # noqa: E402

from runwise_core.model import RunState  # noqa: E402
from runwise_core.sources.tb_event import decode_event  # noqa: E402
from runwise_core.sources.tensorboard import SOURCE  # noqa: E402
from runwise_core.sources.tfrecord import masked_crc32c  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def scan(folder: Path):
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    return SOURCE.scan(folder, files, [])


def load(folder: Path):
    (ref,) = scan(folder)
    return SOURCE.load(ref)


def event_file(folder: Path) -> Path:
    (path,) = [p for p in folder.iterdir() if p.name.startswith("events.out.tfevents.")]
    return path


def write_events(folder: Path, events: list[event_pb2.Event], suffix: str = ".x") -> None:
    """tensorboardX's event writer (it adds the file_version event first)."""
    writer = EventFileWriter(str(folder), filename_suffix=suffix)
    for ev in events:
        writer.add_event(ev)
    writer.close()


def write_records(path: Path, events: list[event_pb2.Event]) -> None:
    """tensorboardX's TFRecord writer alone: exactly these events, no file_version event."""
    writer = RecordWriter(str(path))
    for ev in events:
        writer.write(ev.SerializeToString())
    writer.close()


def tensor_event(tag: str, step: int, tensor: tensor_pb2.TensorProto, plugin: str | None = "scalars") -> event_pb2.Event:
    value = summary_pb2.Summary.Value(tag=tag, tensor=tensor)
    if plugin:
        value.metadata.plugin_data.plugin_name = plugin
    return event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[value]))


def test_scalars_from_summary_writer_are_read_exactly(tmp_path: Path) -> None:
    w = tbx.SummaryWriter(str(tmp_path))
    for step in range(0, 100, 10):
        w.add_scalar("train/loss", 1.0 / (step + 1), step)
        if step % 50 == 0:
            w.add_scalar("val/loss", 2.0 - step / 100, step)
    w.close()
    run = load(tmp_path)
    assert run.source == "tensorboard" and run.records_exits is False
    loss = run.metrics["train/loss"]
    assert loss.steps.tolist() == list(range(0, 100, 10))
    # simple_value is a float32 on disk: exactly the float32 of what was logged
    assert loss.values.tolist() == [float(np.float32(1.0 / (s + 1))) for s in range(0, 100, 10)]
    assert run.metrics["val/loss"].steps.tolist() == [0, 50]
    assert run.metrics["val/loss"].values.tolist() == [2.0, 1.5]
    assert run.rows == 12 and run.last_step == 90
    assert run.read_notes == []
    assert run.state() is RunState.RUNNING  # the events were written just now


def test_scalars_stored_as_tensors_of_every_numeric_dtype(tmp_path: Path) -> None:
    shape = tensor_shape_pb2.TensorShapeProto()
    events = [
        tensor_event("f32", 1, tensor_pb2.TensorProto(dtype=1, tensor_shape=shape, float_val=[0.5])),
        tensor_event("f64", 1, tensor_pb2.TensorProto(dtype=2, tensor_shape=shape, double_val=[0.1])),
        tensor_event("f64_content", 1, tensor_pb2.TensorProto(dtype=2, tensor_shape=shape,
                                                              tensor_content=struct.pack("<d", 0.3))),
        tensor_event("f32_content", 2, tensor_pb2.TensorProto(dtype=1, tensor_shape=shape,
                                                              tensor_content=struct.pack("<f", 1.5))),
        tensor_event("i64", 1, tensor_pb2.TensorProto(dtype=9, tensor_shape=shape, int64_val=[-7])),
        tensor_event("i32", 1, tensor_pb2.TensorProto(dtype=3, tensor_shape=shape, int_val=[-3])),
        tensor_event("half", 1, tensor_pb2.TensorProto(dtype=19, tensor_shape=shape,
                                                       half_val=[int(np.array([0.25], "<f2").view("<u2")[0])])),
        tensor_event("no_plugin", 3, tensor_pb2.TensorProto(dtype=1, tensor_shape=shape, float_val=[2.0]), plugin=None),
    ]
    write_events(tmp_path, events)
    run = load(tmp_path)
    got = {k: (s.steps.tolist(), s.values.tolist()) for k, s in run.metrics.items()}
    assert got == {
        "f32": ([1], [0.5]), "f64": ([1], [0.1]), "f64_content": ([1], [0.3]), "f32_content": ([2], [1.5]),
        "i64": ([1], [-7.0]), "i32": ([1], [-3.0]), "half": ([1], [0.25]), "no_plugin": ([3], [2.0]),
    }


def test_tags_with_slash_and_space_and_negative_steps_are_kept(tmp_path: Path) -> None:
    ev = [event_pb2.Event(wall_time=time.time(), step=s, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="episode/MSE Loss", simple_value=float(s))])) for s in (-1, 5)]
    write_events(tmp_path, ev)
    run = load(tmp_path)
    assert run.metrics["episode/MSE Loss"].steps.tolist() == [-1, 5]


def test_nan_and_inf_are_kept(tmp_path: Path) -> None:
    w = tbx.SummaryWriter(str(tmp_path))
    for step, v in enumerate([1.0, float("nan"), float("inf"), -float("inf")]):
        w.add_scalar("loss", v, step)
    w.close()
    v = load(tmp_path).metrics["loss"].values
    assert v[0] == 1.0 and np.isnan(v[1]) and v[2] == np.inf and v[3] == -np.inf


def test_non_scalar_tags_are_listed_by_kind_and_hparams_tags_skipped(tmp_path: Path) -> None:
    w = tbx.SummaryWriter(str(tmp_path))
    w.add_scalar("loss", 0.5, 1)
    w.add_histogram("weights", np.arange(10.0), 1)
    w.add_text("notes", "hello", 1)
    w.close()
    shape = tensor_shape_pb2.TensorShapeProto(dim=[tensor_shape_pb2.TensorShapeProto.Dim(size=3)])
    write_events(tmp_path, [
        tensor_event("vector", 1, tensor_pb2.TensorProto(dtype=1, tensor_shape=shape, float_val=[1, 2, 3]), plugin=None),
        tensor_event("_hparams_/session_start_info", 0, tensor_pb2.TensorProto(dtype=1), plugin="hparams"),
    ])
    run = load(tmp_path)
    assert sorted(run.metrics) == ["loss"]
    # tensorboardX stores add_text("notes") under the tag notes/text_summary
    assert run.non_scalar == {"weights": "histogram", "notes/text_summary": "text", "vector": "tensor"}


def test_hparams_yaml_beside_events_is_the_config(tmp_path: Path) -> None:
    w = tbx.SummaryWriter(str(tmp_path))
    w.add_scalar("loss", 0.5, 1)
    w.close()
    (tmp_path / "hparams.yaml").write_text("lr: 0.001\noptim: !!python/name:torch.optim.adamw.AdamW ''\nnet:\n  depth: 4\n")
    assert load(tmp_path).config == {"lr": 0.001, "optim": "torch.optim.adamw.AdamW", "net.depth": 4}


def test_two_event_files_in_a_folder_are_one_run(tmp_path: Path) -> None:
    w = tbx.SummaryWriter(str(tmp_path), filename_suffix=".a")
    w.add_scalar("loss", 1.0, 1)
    w.close()
    time.sleep(1.1)  # the file name holds the creation second; a restarted writer gets a new one
    w = tbx.SummaryWriter(str(tmp_path), filename_suffix=".b")
    w.add_scalar("loss", 0.5, 2)
    w.close()
    refs = scan(tmp_path)
    assert len(refs) == 1
    run = SOURCE.load(refs[0])
    assert run.metrics["loss"].steps.tolist() == [1, 2]
    assert run.read_notes[-1].startswith("2 event files read as one run")


def test_wall_times_judge_liveness_not_the_file_mtime(tmp_path: Path) -> None:
    def ev(step: int, t: float) -> event_pb2.Event:
        return event_pb2.Event(wall_time=t, step=step, summary=summary_pb2.Summary(
            value=[summary_pb2.Summary.Value(tag="loss", simple_value=1.0)]))
    write_records(tmp_path / "events.out.tfevents.1600000000.host.1.0",
                  [event_pb2.Event(wall_time=1_599_999_990.0, file_version="brain.Event:2"),
                   ev(1, 1_600_000_000.0), ev(2, 1_600_000_050.0), ev(2, 1_600_000_100.0)])
    run = load(tmp_path)  # the file itself was written just now
    assert run.last_activity == 1_600_000_100.0 and run.start_time == 1_599_999_990.0
    assert run.runtime_s == 110.0
    assert run.timestamps.steps.tolist() == [0, 1, 2]
    assert run.timestamps.values.tolist() == [1_599_999_990.0, 1_600_000_000.0, 1_600_000_100.0]
    assert run.state() is RunState.UNKNOWN


def _three_scalars(folder: Path) -> Path:
    w = tbx.SummaryWriter(str(folder))
    for s in range(3):
        w.add_scalar("loss", float(s), s)
    w.close()
    return event_file(folder)


def test_torn_tail_keeps_every_complete_record(tmp_path: Path) -> None:
    path = _three_scalars(tmp_path)
    data = path.read_bytes()
    path.write_bytes(data[:-5])
    run = load(tmp_path)
    assert run.metrics["loss"].steps.tolist() == [0, 1]
    assert any("torn last record at byte" in n for n in run.read_notes)


def test_bad_length_checksum_stops_the_read_there(tmp_path: Path) -> None:
    path = _three_scalars(tmp_path)
    data = bytearray(path.read_bytes())
    offsets = []
    pos = 0
    while pos < len(data):
        offsets.append(pos)
        (n,) = struct.unpack_from("<Q", data, pos)
        pos += 12 + n + 4
    data[offsets[2] + 8] ^= 0xFF  # the length CRC of the third record (the second scalar)
    path.write_bytes(bytes(data))
    run = load(tmp_path)
    assert run.metrics["loss"].steps.tolist() == [0]
    assert f"bad record length checksum at byte {offsets[2]}; read stopped there" in run.read_notes[0]


def test_a_record_that_does_not_parse_is_skipped_alone(tmp_path: Path) -> None:
    path = _three_scalars(tmp_path)
    data = path.read_bytes()
    pos, records = 0, []
    while pos < len(data):
        (n,) = struct.unpack_from("<Q", data, pos)
        records.append(data[pos + 12:pos + 12 + n])
        pos += 12 + n + 4
    records[2] = b"\x0f" + records[2][1:]  # wire type 7 does not exist
    out = b""
    for rec in records:
        length = struct.pack("<Q", len(rec))
        out += length + struct.pack("<I", masked_crc32c(length)) + rec + struct.pack("<I", 0)
    path.write_bytes(out)
    run = load(tmp_path)
    assert run.metrics["loss"].steps.tolist() == [0, 2]
    assert "does not parse (unsupported wire type 7); skipped" in run.read_notes[0]


def test_decoder_agrees_with_protobuf_on_a_full_event() -> None:
    ev = event_pb2.Event(wall_time=1234.5, step=2**40, summary=summary_pb2.Summary(
        value=[summary_pb2.Summary.Value(tag="a", simple_value=0.75),
               summary_pb2.Summary.Value(tag="b" * 200, simple_value=-2.0)]))
    got = decode_event(ev.SerializeToString())
    assert (got.wall_time, got.step) == (1234.5, 2**40)
    assert [(v.tag, v.number) for v in got.values] == [("a", 0.75), ("b" * 200, -2.0)]
    fv = decode_event(event_pb2.Event(wall_time=1.0, file_version="brain.Event:2").SerializeToString())
    assert fv.file_version == "brain.Event:2" and fv.values is None


def _real(rel: str):
    folder = REAL / rel / "lightning_logs" / "version_0"
    if not folder.exists():
        pytest.skip("shared realdata not present")
    return load(folder)


def test_real_lstm_textgen_events() -> None:
    run = _real("lstm_textgen_tensorboard")
    assert run.rows + 1 == 15_445  # every event but the file_version one carries a summary
    assert sorted(run.metrics) == ["epoch", "hp_metric", "train_loss", "val_loss"]
    tl, vl, ep = run.metrics["train_loss"], run.metrics["val_loss"], run.metrics["epoch"]
    assert (len(tl), round(tl.values[0], 2), round(tl.final, 3)) == (7691, 2.06, 0.239)
    assert (len(vl), round(vl.values[0], 3), round(vl.final, 3), round(vl.values.min(), 3)) == (29, 0.361, 0.256, 0.253)
    assert (ep.values.min(), ep.values.max()) == (0.0, 28.0)
    assert run.config == {"hidden_units": 512, "lr": 0.001, "num_chars": 29, "num_layers": 2, "seq_length": 100}
    assert run.state() is RunState.UNKNOWN  # wall times from 2024


def test_real_naf_dqn_events_with_slash_and_space_tags_and_python_tags_in_hparams() -> None:
    run = _real("naf_dqn_lunarlander_tensorboard")
    assert run.rows + 1 == 47_049
    assert sorted(run.metrics) == ["episode/MSE Loss", "episode/Return", "epoch", "hp_metric"]
    ret, mse = run.metrics["episode/Return"], run.metrics["episode/MSE Loss"]
    assert (len(ret), round(ret.values.min()), round(ret.values.max())) == (21_780, -934, 335)
    assert (len(mse), round(mse.values.min(), 2), round(mse.values.max(), 1)) == (1742, 0.90, 28.6)
    assert run.config["optim"] == "torch.optim.adamw.AdamW"
    assert run.config["loss_fn"] == "torch.nn.functional.smooth_l1_loss"
    assert run.config["policy"] == "__main__.noisy_policy"
    assert run.config["gamma"] == 0.99 and run.config["env_name"] == "LunarLanderContinuous-v2"
    assert run.read_notes == []


def test_fast_path_agrees_with_the_general_decoder(tmp_path: Path) -> None:
    from runwise_core.sources.tb_event import simple_scalar
    from runwise_core.sources.tfrecord import read_records

    w = tbx.SummaryWriter(str(tmp_path))
    for s in (0, 1, 127, 128, 2**20, 2**40):
        w.add_scalar("a/b_c", s / 3, s)  # tensorboardX would turn a space into _
        w.add_scalar("t" * 130, 1.0, s)  # a tag too long for the fast path
    w.close()
    files = [event_file(tmp_path)]
    if REAL.exists():
        files += sorted(REAL.glob("*/lightning_logs/version_0/events.out.tfevents.*"))
    fast = slow = 0
    for path in files:
        for _, data in read_records(path, []):
            quick = simple_scalar(data)
            if quick is None:
                slow += 1
                continue
            fast += 1
            ev = decode_event(data)
            (v,) = ev.values
            assert quick == (ev.wall_time, ev.step, v.tag.encode(), v.number) and v.plugin is None
    # Step 0 is not written at all (a protobuf default), so that event takes the general path:
    # 5 of the writer's 6 short-tag scalars are fast, the long tags and the file header slow.
    assert fast >= 5 and slow >= 7
    run = load(tmp_path)
    assert run.metrics["t" * 130].steps.tolist() == [0, 1, 127, 128, 2**20, 2**40]
    assert run.metrics["a/b_c"].values.tolist() == [float(np.float32(s / 3)) for s in (0, 1, 127, 128, 2**20, 2**40)]


def test_a_restart_from_a_checkpoint_keeps_both_stretches_with_a_note(tmp_path: Path) -> None:
    w = tbx.SummaryWriter(str(tmp_path))
    for s in (10, 20, 30, 20, 30, 40):
        w.add_scalar("loss", float(s), s)
    w.close()
    run = load(tmp_path)
    assert run.metrics["loss"].steps.tolist() == [10, 20, 20, 30, 30, 40]
    assert run.read_notes == ["steps go back in loss (step 30 -> 20): a restart from a checkpoint? both stretches kept"]


def test_hparams_logged_through_the_plugin_join_the_config(tmp_path: Path) -> None:
    w = tbx.SummaryWriter(str(tmp_path))
    w.add_hparams({"lr": 0.1, "bsize": 32, "opt": "adam", "flag": True}, {"hparam/acc": 0.9})
    w.close()
    (trial,) = [p for p in tmp_path.iterdir() if p.is_dir()]  # tensorboardX writes a run folder of its own
    run = load(trial)
    assert run.config == {"lr": 0.1, "bsize": 32.0, "opt": "adam", "flag": True}
    assert run.metrics["hparam/acc"].values.tolist() == [float(np.float32(0.9))]
    assert run.non_scalar == {}  # the plugin's own tags are not data
