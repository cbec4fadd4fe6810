"""The hand decoder against TensorBoard's own writer and loader (skipped without tensorboard).

TensorBoard's ``scalar_pb`` writes scalars as tensors (the TF2 layout) and its
``make_tensor_proto`` picks the field per dtype; its ``EventFileLoader`` is the reference
reader: every scalar it sees in the real event files must come out of runwise identically.
"""

from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("tensorboard")
from tensorboard.backend.event_processing.event_file_loader import EventFileLoader  # noqa: E402
from tensorboard.compat.proto import event_pb2, summary_pb2  # noqa: E402
from tensorboard.plugins.scalar import summary_v2  # noqa: E402
from tensorboard.summary.writer.event_file_writer import EventFileWriter  # noqa: E402
from tensorboard.util import tensor_util  # noqa: E402

from runwise_core.sources.tensorboard import SOURCE  # noqa: E402

REAL = Path(__file__).resolve().parents[2] / "shared" / "realdata"


def load(folder: Path):
    (ref,) = SOURCE.scan(folder, sorted(p.name for p in folder.iterdir() if p.is_file()), [])
    return SOURCE.load(ref)


def test_tensor_scalars_written_by_tensorboard(tmp_path: Path) -> None:
    writer = EventFileWriter(str(tmp_path))
    for step in range(5):
        summary = summary_v2.scalar_pb("train/loss", 1.0 / (step + 1))
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary))
    for step, value in [(0, np.float64(0.1)), (1, np.int64(-3)), (2, np.float16(0.5)), (3, np.int32(7))]:
        tensor = tensor_util.make_tensor_proto(value)
        v = summary_pb2.Summary.Value(tag="typed", tensor=tensor)
        v.metadata.plugin_data.plugin_name = "scalars"
        writer.add_event(event_pb2.Event(wall_time=time.time(), step=step, summary=summary_pb2.Summary(value=[v])))
    writer.close()
    run = load(tmp_path)
    loss = run.metrics["train/loss"]
    assert loss.steps.tolist() == [0, 1, 2, 3, 4]
    assert loss.values.tolist() == [float(np.float32(1.0 / (s + 1))) for s in range(5)]
    assert run.metrics["typed"].values.tolist() == [0.1, -3.0, 0.5, 7.0]
    assert run.non_scalar == {}


def _reference(path: Path) -> dict[str, list[tuple[int, float]]]:
    out: dict[str, list[tuple[int, float]]] = defaultdict(list)
    plugins: dict[str, str] = {}
    for ev in EventFileLoader(str(path)).Load():
        for v in ev.summary.value:
            if v.metadata.plugin_data.plugin_name:
                plugins.setdefault(v.tag, v.metadata.plugin_data.plugin_name)
            if v.HasField("simple_value"):
                out[v.tag].append((ev.step, float(v.simple_value)))
            elif v.HasField("tensor") and plugins.get(v.tag) == "scalars":
                out[v.tag].append((ev.step, float(tensor_util.make_ndarray(v.tensor).item())))
    return out


@pytest.mark.skipif(not REAL.exists(), reason="shared realdata not present")
@pytest.mark.parametrize("run", ["lstm_textgen_tensorboard", "naf_dqn_lunarlander_tensorboard"])
def test_every_real_scalar_matches_tensorboards_own_loader(run: str) -> None:
    folder = REAL / run / "lightning_logs" / "version_0"
    (path,) = folder.glob("events.out.tfevents.*")
    ref = _reference(path)
    got = load(folder)
    assert sorted(got.metrics) == sorted(ref)
    for tag, points in ref.items():
        steps, values = zip(*sorted(points, key=lambda p: p[0]))  # stable, as runwise sorts
        assert got.metrics[tag].steps.tolist() == list(steps)
        assert got.metrics[tag].values.tolist() == list(values)


def test_hparams_written_by_tensorboards_hparams_api_are_the_config(tmp_path: Path) -> None:
    from tensorboard.plugins.hparams import summary_v2 as hp

    writer = EventFileWriter(str(tmp_path))
    writer.add_event(event_pb2.Event(wall_time=time.time(), step=0,
                                     summary=hp.hparams_pb({"lr": 0.1, "layers": 3, "act": "relu", "bn": False})))
    writer.add_event(event_pb2.Event(wall_time=time.time(), step=1, summary=summary_v2.scalar_pb("loss", 0.5)))
    writer.close()
    run = load(tmp_path)
    assert run.config == {"lr": 0.1, "layers": 3.0, "act": "relu", "bn": False}
    assert list(run.metrics) == ["loss"] and run.non_scalar == {}
