"""ONNX export without a trained model: the untrained base and a hand-made LoRA adapter, exported into tmp folders
and read back by :class:`OnnxEncoder` (onnxruntime + tokenizers); plus the ``NAME@FORMAT`` names."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.util import find_spec

import numpy as np
import pytest

pytest.importorskip("onnx", reason="the export extra is not installed (scripts/setup export)")
pytest.importorskip("onnxruntime", reason="the export extra is not installed (scripts/setup export)")

from harness.models.embeddings import encode, load_model
from harness.models.export import INFO_FILE, export_name, export_onnx
from harness.models.onnx_encoder import OnnxEncoder, read_pooling
from harness.models.registry import get_model_spec, resolve_model_names, split_export_name

pytestmark = pytest.mark.unit

TEXTS = ["boy: I love hiking", "girl: I can't stand loud bars, I'd rather stay in with a book and tea",
         "boy: I would never date someone who smokes", "girl: Family comes first"]


@pytest.fixture(scope="module")
def base_export(tmp_path_factory):
    folder = tmp_path_factory.mktemp("export") / "baseline@onnx"
    export_onnx(get_model_spec("baseline"), None, folder)
    return folder


def test_base_export_matches_sentence_transformers(base_export):
    reference = load_model(get_model_spec("baseline"), None).encode(TEXTS, convert_to_numpy=True)
    encoder = OnnxEncoder(base_export)
    exported = encoder.encode(TEXTS, batch_size=3)  # batches of unequal length: padding must not leak into the mean
    assert encoder.normalize and encoder.pooling == "mean" and encoder.max_seq_length == 256
    assert exported.shape == reference.shape == (len(TEXTS), 384) and exported.dtype == np.float32
    assert np.abs(exported - reference).max() < 1e-4
    assert np.allclose(encoder.encode(TEXTS[1]), exported[1], atol=1e-5)  # one string -> one vector, like ST
    assert np.allclose(encode(encoder, TEXTS), exported, atol=1e-6)  # the harness's encode path
    info = json.loads((base_export / INFO_FILE).read_text())
    assert info["format"] == "onnx" and info["probe_check"]["max_abs_diff_vs_pytorch"] < 1e-4


def test_folder_stands_alone_and_the_encoder_needs_no_torch(base_export):
    """The folder has everything; encoding it in a fresh interpreter never imports torch or transformers."""
    for name in ("model.onnx", "tokenizer.json", "modules.json", "1_Pooling/config.json", "sentence_bert_config.json"):
        assert (base_export / name).is_file(), name
    code = ("import sys; from harness.models.onnx_encoder import OnnxEncoder; "
            f"v = OnnxEncoder({str(base_export)!r}).encode(['boy: I love hiking']); "
            "assert v.shape == (1, 384); bad = [m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_lora_export_merges_the_adapter(tmp_path):
    """A LoRA adapter (non-zero B, as after training) is merged: the export matches base + adapter, not the base."""
    import torch

    from harness.models.training import attach_lora, load_base_model

    spec = get_model_spec("lora")
    model = load_base_model(device="cpu")
    attach_lora(model, spec)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for name, parameter in model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.05)
    model.save(str(tmp_path / "adapter"))
    info = export_onnx(spec, tmp_path / "adapter", tmp_path / "lora@onnx")
    exported = OnnxEncoder(tmp_path / "lora@onnx").encode(TEXTS)
    adapter = encode(load_model(spec, tmp_path / "adapter"), TEXTS)
    base = encode(load_model(get_model_spec("baseline"), None), TEXTS)
    assert info["lora_merged"] and np.abs(exported - adapter).max() < 1e-4
    assert np.abs(exported - base).max() > 1e-2


def test_export_names_are_validated():
    assert split_export_name("standard@onnx-int8") == ("standard", "onnx-int8")
    assert split_export_name("lora") == ("lora", None)
    assert resolve_model_names(["standard", "standard@onnx-int8", "standard@onnx-int8"]) == ["standard", "standard@onnx-int8"]
    assert "standard@onnx" not in resolve_model_names(["all"])
    with pytest.raises(KeyError, match="unknown export format 'onnx-int4'.*Did you mean standard@onnx-int8"):
        resolve_model_names(["standard@onnx-int4"])
    with pytest.raises(KeyError, match="Did you mean 'standard'"):
        resolve_model_names(["standrad@onnx"])
    assert export_name("standard-0123456789abcdef", "onnx-int8") == "standard-0123456789abcdef@onnx-int8"


def test_pooling_config_both_forms(tmp_path):
    (tmp_path / "1_Pooling").mkdir()
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "cls"}))
    assert read_pooling(tmp_path) == "cls"
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode_mean_tokens": True,
                                                                    "pooling_mode_cls_token": False}))
    assert read_pooling(tmp_path) == "mean"
    (tmp_path / "1_Pooling" / "config.json").write_text(json.dumps({"pooling_mode": "weightedmean"}))
    with pytest.raises(ValueError, match="unsupported pooling"):
        read_pooling(tmp_path)


def test_smoothing_leaves_the_fp32_function_unchanged(base_export, tmp_path):
    """SmoothQuant divides each weight op's input by s and multiplies the weight's rows by s: exact in fp32. Built on
    the fused graph the int8 recipe uses, where every weight op (per layer: Attention, attention output, FFN in, FFN
    out) gets its Mul."""
    import shutil

    import onnx

    from harness.models.export import fuse_bert, smooth, weight_ops

    folder = tmp_path / "smoothed"
    shutil.copytree(base_export, folder)
    fused = fuse_bert(base_export / "model.onnx", folder / "model.onnx", base_export / "config.json")
    assert fused["Attention"] == 6 and fused["SkipLayerNormalization"] == 12
    before = OnnxEncoder(folder).encode(TEXTS, batch_size=4)
    count = smooth(folder / "model.onnx", folder / "tokenizer.json", TEXTS[:2], alpha=0.85)
    graph = onnx.load(str(folder / "model.onnx")).graph
    assert count == len(weight_ops(graph)) == 6 * 4  # per layer: Attention, attention output, FFN in, FFN out
    assert sum(n.op_type == "Mul" and n.name.endswith("/smooth") for n in graph.node) == count
    after = OnnxEncoder(folder).encode(TEXTS, batch_size=4)
    assert np.abs(after - before).max() < 1e-5
    assert np.abs(after - load_model(get_model_spec("baseline"), None).encode(TEXTS)).max() < 1e-4


def test_int8_export_is_batch_independent_and_close(base_export, tmp_path):
    """The int8 file: every weight op quantised, the embedding table in fp16, a text's embedding the same alone, in
    a batch and over parallel workers, and close to fp32."""
    import onnx

    from harness.models.export import quantize_int8

    out = tmp_path / "baseline@onnx-int8"
    info = quantize_int8(base_export, out)
    settings = info["quantization"]
    assert settings["smoothquant"]["ops"] == 24 and settings["fp16_tables"] and settings["fused_operators"]["Attention"] == 6
    ops = {n.op_type for n in onnx.load(str(out / "model.onnx")).graph.node}
    # quantize_dynamic writes DynamicQuantizeLinear + MatMulInteger (onnxruntime fuses them when it loads the file)
    assert {"MatMulInteger", "QAttention"} <= ops and not {"MatMul", "Attention"} & ops, ops
    serial = OnnxEncoder(out, intra_op_num_threads=1)
    parallel = OnnxEncoder(out, intra_op_num_threads=2)
    assert serial.per_text and parallel.per_text
    alone = np.stack([serial.encode(t) for t in TEXTS])
    assert np.array_equal(serial.encode(TEXTS, batch_size=32), alone)
    assert np.array_equal(parallel.encode(TEXTS * 3, batch_size=32), np.concatenate([alone] * 3))  # order kept
    fp32 = OnnxEncoder(base_export).encode(TEXTS)
    assert (alone * fp32).sum(axis=1).min() > 0.98
    if find_spec("openvino") is not None:  # OpenVINO has no conversion for QAttention: a clear refusal
        with pytest.raises(ValueError, match="OpenVINO cannot run this file.*QAttention"):
            OnnxEncoder(out, runtime="openvino")


def test_openvino_runs_the_fp32_file(base_export):
    pytest.importorskip("openvino", reason="openvino is not installed (scripts/setup export)")
    onnxruntime = OnnxEncoder(base_export).encode(TEXTS)
    exact = OnnxEncoder(base_export, runtime="openvino", precision="f32")
    assert exact.precision == "f32" and not exact.per_text
    assert np.abs(exact.encode(TEXTS, batch_size=3) - onnxruntime).max() < 1e-4
    default = OnnxEncoder(base_export, runtime="openvino")  # bf16 where the CPU has it
    assert (default.encode(TEXTS) * onnxruntime).sum(axis=1).min() > 0.999
    with pytest.raises(ValueError, match="unknown runtime"):
        OnnxEncoder(base_export, runtime="tensorrt")


def test_cross_encoder_export_scores_like_the_cross_encoder(tmp_path):
    """A cross-encoder (the base MiniLM with a fresh head, saved as CrossEncoder saves it) exported to fp32 and int8:
    OnnxCrossEncoder.predict gives CrossEncoder.predict's probabilities (fp32 to float noise, int8 closely), in any
    batch, and the int8 export scores a pair the same whatever it is batched with."""
    from sentence_transformers.cross_encoder import CrossEncoder

    from harness.models.cross_encoder import symmetric_scores
    from harness.models.export import PROBE_PAIRS, export_cross_encoder, quantize_int8
    from harness.models.onnx_cross_encoder import OnnxCrossEncoder
    from harness.paths import base_model_path

    source = tmp_path / "cross-encoder"
    CrossEncoder(str(base_model_path()), num_labels=1, device="cpu", local_files_only=True).save(str(source))
    spec = get_model_spec("cross-encoder")
    info = export_cross_encoder(spec, source, tmp_path / "fp32")
    assert info["kind"] == "cross-encoder" and info["probe_check"]["max_abs_probability_diff_vs_pytorch"] <= 1e-4
    pairs = [(a, b) for a in TEXTS for b in TEXTS if a != b]
    reference = symmetric_scores(CrossEncoder(str(source), device="cpu", local_files_only=True), pairs)
    fp32 = symmetric_scores(OnnxCrossEncoder(tmp_path / "fp32"), pairs)
    assert np.abs(fp32 - reference).max() <= 1e-4
    quantize_int8(tmp_path / "fp32", tmp_path / "int8")
    int8 = OnnxCrossEncoder(tmp_path / "int8")
    assert int8.per_pair and np.abs(symmetric_scores(int8, pairs) - reference).max() <= 0.05
    alone = np.array([int8.predict([p])[0] for p in PROBE_PAIRS])
    assert np.array_equal(int8.predict(PROBE_PAIRS), alone)
