"""ONNX (fp32) and INT8 exports of a registered model: ``models/<model-artifact-name>@<format>/``.

An export is an artifact like a model (``harness.models.cache.build_artifact``: built in a ``.partial-*`` folder,
manifest last, atomic rename, under the artifact's lock), named after the folder it was exported from, so it is
as content-addressed as that one: ``standard-2345206a3dbadf32@onnx-int8``. The baseline's source name is
``baseline-<base model digest>``. The folder stands alone: ``model.onnx``, the tokenizer, the pooling config,
``modules.json`` (a Normalize module means unit-length output), ``sentence_bert_config.json`` (max sequence
length), ``export_info.json`` (recipe, source, library versions, probe check) and the source's
``training_info.json`` where there is one. :class:`harness.models.onnx_encoder.OnnxEncoder` encodes with it,
without torch.

``onnx``: the transformer's merged weights, traced with torch's TorchScript exporter (``dynamo=False``: the
dynamo exporter needs onnxscript, which is not installed), opset 17, dynamic batch and sequence axes, eager
attention (its graph is the one onnxruntime's BERT fusions recognise). A LoRA adapter is merged into the base
first (``PeftModel.from_pretrained(base, artifact).merge_and_unload()``) and the export is checked against the
PyTorch adapter model on probe texts: it must match it and must not match the base, so an unmerged adapter is
never shipped as the base. Every export is checked against its PyTorch model on probe texts before it is kept.

``onnx-int8``: built from the ``onnx`` export: onnxruntime's BERT fusions (``Attention``,
``SkipLayerNormalization``, ``BiasGelu``), SmoothQuant (:func:`smooth`, calibrated on the repository's own training
texts), then ``quantize_dynamic`` of every weight op (``MatMul`` and ``Attention``) with signed 8-bit weights per
output channel, activations quantised at run time; the word-embedding table is stored in fp16
(:func:`fp16_embedding_table`). OnnxEncoder runs an int8 model one text per call, texts in parallel, so a text's
embedding does not depend on its batch-mates. See docs/adr/005-onnx-int8-export.md.
"""

from __future__ import annotations

import contextlib
import functools
import glob
import json
import os
import shutil
import tempfile
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np

from harness.models.cache import build_artifact, cache_dir, is_complete, mark_used
from harness.models.onnx_encoder import MODEL_FILE, OnnxEncoder, token_feed
from harness.models.registry import EXPORT_FORMATS, ModelSpec
from harness.paths import base_model_path, models_dir

#: Bump when the export or quantisation recipe changes: an export made by another recipe is rebuilt.
EXPORT_RECIPE = 6
OPSET = 17
INFO_FILE = "export_info.json"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
OUTPUT_NAME = "token_embeddings"

#: Texts every export is checked on before it is kept (short and long, both genders, a dealbreaker).
PROBE = ["boy: I love hiking", "girl: I can't stand hiking, I'd rather spend the weekend reading at home",
         "boy: I would never date someone who smokes", "girl: I smoke a pack a day", "boy: Family comes first for me",
         "girl: I want kids someday, ideally two or three, and I'd love to live near my parents when they are older"]
#: fp32 export vs its PyTorch model, on the probe: max |difference| of the unit embeddings.
FP32_TOLERANCE = 1e-4
#: A LoRA export must be at least this far (max |difference|) from the base model's embeddings.
ADAPTER_MIN_DISTANCE = 1e-3
#: int8 export vs the fp32 export on the probe: every cosine at least this (a sanity check; the gate is
#: checks/model/test_export.py on the eval sets).
INT8_MIN_COSINE = 0.95
#: A cross-encoder export's output: one logit per pair (``harness.models.onnx_cross_encoder.OnnxCrossEncoder``).
CROSS_ENCODER_OUTPUT = "logits"
#: Pairs every cross-encoder export is checked on, in both orders.
PROBE_PAIRS = [(a, b) for a, b in zip(PROBE[0::2], PROBE[1::2])] + [(b, a) for a, b in zip(PROBE[0::2], PROBE[1::2])]
#: fp32 cross-encoder export vs its PyTorch model on the probe pairs: max |difference| of the probabilities.
FP32_PROBABILITY_TOLERANCE = 1e-4
#: int8 cross-encoder export vs its fp32 export on the probe pairs: max |difference| of the probabilities (a sanity
#: check; the gate is checks/model/test_export.py on the eval sets).
INT8_MAX_PROBABILITY_DIFF = 0.05
#: Kinds that have no model of their own to export.
NOT_EXPORTABLE = {"fusion": "a fusion has no model of its own: export its parts (the bi-encoder and the cross-encoder)"}
#: Supporting files copied beside model.onnx when the source has them.
SUPPORT_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "modules.json",
                 "config_sentence_transformers.json", "training_info.json", "README.md")  # README.md: the model card


def export_name(source_key: str, fmt: str) -> str:
    """``<source artifact name>@<format>``; the source key is ``ModelRef.key`` (``baseline-<digest>`` for the base)."""
    if fmt not in EXPORT_FORMATS:
        raise KeyError(f"unknown export format {fmt!r}; formats: {', '.join(EXPORT_FORMATS)}")
    return f"{source_key}@{fmt}"


def export_dir(source_key: str, fmt: str) -> Path:
    return models_dir() / export_name(source_key, fmt)


def _stale(final: Path) -> tuple[str, str] | None:
    """Why a kept export must be rebuilt, and the name stem whose cached embeddings/metrics/projections go with it
    (their keys are export names, which do not change with the recipe); None when it is current."""
    info_path = final / INFO_FILE
    if not (final.is_dir() and (final / "manifest.json").is_file() and info_path.is_file()):
        return None
    info = json.loads(info_path.read_text())
    if info.get("recipe") != EXPORT_RECIPE:
        # every export of the source: the recipe number covers both formats
        return f"made by export recipe {info.get('recipe')}, now {EXPORT_RECIPE}", final.name.rsplit("@", 1)[0] + "@"
    smoothing = (info.get("quantization") or {}).get("smoothquant") or {}
    if smoothing and smoothing.get("alpha") != SMOOTH_ALPHA:
        return f"smoothed with alpha {smoothing.get('alpha')}, now {SMOOTH_ALPHA}", final.name
    if smoothing and smoothing.get("calibration_sha256") != calibration_digest(info.get("kind")):
        return "its calibration texts changed (data/default or data/natural_train)", final.name
    return None


def _retire_stale(final: Path) -> None:
    """A stale export (:func:`_stale`) is moved aside as a ``.partial-*`` (removed by the next build), and the
    cache files derived from it are removed with it."""
    stale = _stale(final)
    if stale is None:
        return
    reason, stem = stale
    warnings.warn(f"rebuilding {final.name}: {reason}; dropping the cached embeddings and metrics derived from it",
                  stacklevel=3)
    with contextlib.suppress(OSError):
        os.replace(final, final.parent / f".partial-{final.name}-stale")
    for kind in ("embeddings", "metrics", "projections"):
        for path in cache_dir(kind).glob(f"*{glob.escape(stem)}*"):
            path.unlink(missing_ok=True)


def ensure_exported(source, fmt: str, verify: bool = False) -> Path:
    """The export folder of ``source`` (a :class:`harness.models.handle.ModelRef` of a registered model) in
    ``fmt``, exported now if absent (and the source trained now if absent); ``onnx-int8`` builds on ``onnx``."""
    if source.spec.kind in NOT_EXPORTABLE:
        raise ValueError(f"{source.name}: not exported: {NOT_EXPORTABLE[source.spec.kind]}")
    final = export_dir(source.key, fmt)
    _retire_stale(final)
    if is_complete(final, verify):  # before anything else: a kept int8 export needs neither the fp32 one nor the model
        mark_used(final)
        return final
    if fmt == "onnx":
        artifact = source.artifact()
        return build_artifact(final, lambda partial: export_onnx(source.spec, artifact, partial, source.key), verify)
    fp32 = ensure_exported(source, "onnx", verify)
    return build_artifact(final, lambda partial: quantize_int8(fp32, partial), verify)


# --- fp32 ---------------------------------------------------------------------------------------------------

def merged_transformer(spec: ModelSpec, artifact: Path | None):
    """The plain transformers model to export: the base, the full fine-tune, or base + LoRA merged."""
    from transformers import AutoModel

    base = base_model_path()
    if artifact is None or spec.kind == "pretrained":
        model = AutoModel.from_pretrained(str(base), attn_implementation="eager", local_files_only=True)
    elif spec.kind == "lora":
        from peft import PeftModel

        if spec.config and spec.config.quantization:
            raise ValueError(f"{spec.name}: its adapter was trained on a {spec.config.quantization} base; merging it "
                             f"into the fp32 base would not reproduce the trained model, so it is not exported")
        model = AutoModel.from_pretrained(str(base), attn_implementation="eager", local_files_only=True)
        model = PeftModel.from_pretrained(model, str(artifact)).merge_and_unload()
        left = [n for n, _ in model.named_modules() if "lora_" in n]
        if left:
            raise RuntimeError(f"{spec.name}: LoRA modules left after merge_and_unload: {left[:3]}")
    else:
        model = AutoModel.from_pretrained(str(artifact), attn_implementation="eager", local_files_only=True)
    return model.eval()


def _torch_export(model, tokenizer_file: Path, path: Path, output: str = OUTPUT_NAME, examples: list | None = None) -> None:
    """Trace ``model`` to ``path``: its ``last_hidden_state`` as ``token_embeddings`` (a bi-encoder's transformer) or
    its ``logits`` (a cross-encoder's sequence-classification model), dynamic batch and sequence axes."""
    import torch
    from tokenizers import Tokenizer

    class Output(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            result = self.transformer(input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids)
            return result.logits if output == CROSS_ENCODER_OUTPUT else result.last_hidden_state

    wrapper = Output(model).eval()  # eval: a module in training mode would trace dropout
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    # padded: the traced graph keeps the attention-mask path; pairs: the token types are traced as inputs
    encodings = tokenizer.encode_batch(examples or PROBE[:2])
    example = tuple(torch.tensor([getattr(e, a) for e in encodings], dtype=torch.long)
                    for a in ("ids", "attention_mask", "type_ids"))
    axes = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    axes[output] = {0: "batch"} if output == CROSS_ENCODER_OUTPUT else {0: "batch", 1: "sequence"}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-exporter notice and tracer warnings on shape arithmetic
        torch.onnx.export(wrapper, example, str(path), dynamo=False, input_names=list(INPUT_NAMES),
                          output_names=[output], dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)


def _copy_support_files(source: Path, out: Path, max_seq_length: int, modules: bool = True) -> None:
    """The tokenizer, configs, card and training record beside model.onnx; ``modules``: the sentence-transformers
    module folders too (pooling, normalisation: a bi-encoder's; a cross-encoder's graph ends in its logit)."""
    for name in SUPPORT_FILES:
        if (source / name).is_file() and (modules or name != "modules.json"):
            shutil.copy2(source / name, out / name)
    for module in json.loads((source / "modules.json").read_text()) if modules else []:
        if module.get("path") and (source / module["path"]).is_dir():  # the base lists 2_Normalize without a folder
            shutil.copytree(source / module["path"], out / module["path"], dirs_exist_ok=True)
    config_path = source / "sentence_bert_config.json"
    config = json.loads(config_path.read_text()) if config_path.is_file() else {}
    config["max_seq_length"] = max_seq_length
    (out / "sentence_bert_config.json").write_text(json.dumps(config, indent=2))
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(out / "tokenizer.json"))  # truncation and padding as the model encodes
    tokenizer.enable_truncation(max_length=max_seq_length)
    tokenizer.enable_padding(pad_id=tokenizer.token_to_id("[PAD]") or 0, pad_token="[PAD]")
    tokenizer.save(str(out / "tokenizer.json"))


def library_versions() -> dict[str, str]:
    versions = {}
    for name in ("torch", "transformers", "sentence-transformers", "peft", "onnx", "onnxruntime", "tokenizers"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def export_onnx(spec: ModelSpec, artifact: Path | None, out: Path, source_key: str | None = None) -> dict:
    """Export ``spec``'s model (``artifact``; None for the base) to ``out`` as fp32 ONNX and check it against the
    PyTorch model on :data:`PROBE`. Returns (and writes) the export info."""
    from harness.models.embeddings import encode, load_model

    if spec.kind == "cross-encoder":
        return export_cross_encoder(spec, Path(artifact), Path(out), source_key)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = Path(artifact) if artifact is not None else base_model_path()
    reference = load_model(spec, artifact)  # the PyTorch model the harness scores (a LoRA: base + load_adapter)
    transformer = merged_transformer(spec, artifact)
    _torch_export(transformer, source / "tokenizer.json", out / MODEL_FILE)
    transformer.config.to_json_file(str(out / "config.json"))  # heads and width, for the int8 graph fusions
    _copy_support_files(source, out, int(reference.max_seq_length))
    exported = OnnxEncoder(out).encode(PROBE, normalize_embeddings=True)
    expected = encode(reference, PROBE)
    diff = float(np.abs(exported - expected).max())
    check = {"max_abs_diff_vs_pytorch": diff, "tolerance": FP32_TOLERANCE}
    if diff > FP32_TOLERANCE:
        raise RuntimeError(f"{spec.name}: the ONNX export differs from the PyTorch model on the probe texts "
                           f"(max |diff| {diff:.2e} > {FP32_TOLERANCE:g}); not kept")
    if spec.kind == "lora":
        base = encode(load_model(_base_spec(), None), PROBE)
        distance = float(np.abs(exported - base).max())
        check["max_abs_diff_vs_base"] = distance
        if distance < ADAPTER_MIN_DISTANCE:
            raise RuntimeError(f"{spec.name}: the export encodes like the base model (max |diff| {distance:.2e}): "
                               f"the adapter was not merged; not kept")
    info = {"format": "onnx", "recipe": EXPORT_RECIPE, "model": spec.name, "kind": spec.kind,
            "source": source_key or (source.name if artifact is not None else "base"), "source_path": str(source),
            "opset": OPSET, "exporter": "torch.onnx.export(dynamo=False), eager attention",
            "lora_merged": spec.kind == "lora", "pooling": OnnxEncoder(out).pooling, "probe_check": check,
            "libraries": library_versions()}
    (out / INFO_FILE).write_text(json.dumps(info, indent=2))
    return info


def export_cross_encoder(spec: ModelSpec, artifact: Path, out: Path, source_key: str | None = None) -> dict:
    """A cross-encoder (``CrossEncoder(num_labels=1)`` artifact) to fp32 ONNX: the sequence-classification model's
    logit, checked against ``CrossEncoder.predict`` on :data:`PROBE_PAIRS` before it is kept."""
    from transformers import AutoModelForSequenceClassification

    from harness.models.cross_encoder import load_cross_encoder
    from harness.models.onnx_cross_encoder import OnnxCrossEncoder

    out.mkdir(parents=True, exist_ok=True)
    reference = load_cross_encoder(artifact)
    if reference.num_labels != 1:
        raise ValueError(f"{spec.name}: {reference.num_labels} labels; the export scores one logit per pair")
    model = AutoModelForSequenceClassification.from_pretrained(str(artifact), attn_implementation="eager",
                                                               local_files_only=True).eval()
    _torch_export(model, artifact / "tokenizer.json", out / MODEL_FILE, CROSS_ENCODER_OUTPUT, PROBE_PAIRS[:2])
    model.config.to_json_file(str(out / "config.json"))  # heads and width, for the int8 graph fusions
    _copy_support_files(artifact, out, int(reference.max_length), modules=False)
    exported = OnnxCrossEncoder(out).predict(PROBE_PAIRS)
    expected = np.asarray(reference.predict([list(p) for p in PROBE_PAIRS], show_progress_bar=False), dtype=np.float64)
    diff = float(np.abs(exported - expected).max())
    check = {"max_abs_probability_diff_vs_pytorch": diff, "tolerance": FP32_PROBABILITY_TOLERANCE}
    if diff > FP32_PROBABILITY_TOLERANCE:
        raise RuntimeError(f"{spec.name}: the ONNX export's probabilities differ from the CrossEncoder's on the probe "
                           f"pairs (max |diff| {diff:.2e} > {FP32_PROBABILITY_TOLERANCE:g}); not kept")
    info = {"format": "onnx", "recipe": EXPORT_RECIPE, "model": spec.name, "kind": spec.kind,
            "source": source_key or artifact.name, "source_path": str(artifact), "opset": OPSET,
            "exporter": "torch.onnx.export(dynamo=False), eager attention, AutoModelForSequenceClassification logits",
            "output": CROSS_ENCODER_OUTPUT, "activation": "sigmoid (applied by OnnxCrossEncoder.predict)",
            "max_length": int(reference.max_length), "probe_check": check, "libraries": library_versions()}
    (out / INFO_FILE).write_text(json.dumps(info, indent=2))
    return info


def _base_spec() -> ModelSpec:
    from harness.models.registry import get_model_spec

    return get_model_spec("baseline")


# --- int8 ---------------------------------------------------------------------------------------------------

#: SmoothQuant's migration strength (Xiao et al., 2023). Per input channel j of each quantised weight,
#: s_j = max|X_j| ** alpha / max|W_j,:| ** (1 - alpha): the activation is divided by s (a Mul before the op) and W's
#: row j multiplied by it, so the product is unchanged while the activation outliers that one per-tensor 8-bit scale
#: cannot hold move into the weights, which are quantised per output channel. Chosen on the selection sets
#: (validation split + natural dev of the reference data) by ``benchmarks/int8_recipe.py``.
SMOOTH_ALPHA = 0.85
#: At most this many calibration texts (:func:`calibration_texts`).
CALIBRATION_LIMIT = 2000


def calibration_texts(limit: int = CALIBRATION_LIMIT) -> list[str]:
    """Texts whose activations set the smoothing scales: the training pairs of the project's embedded default dataset
    (its validation rows left out) and the hand-written natural training texts, in the repository, never a scored
    set. Distinct, sorted, every k-th kept so that at most ``limit`` remain (deterministic)."""
    from harness.data import natural_train
    from harness.data.dataset import load_dataset
    from harness.data.splits import validation_split
    from harness.paths import DEFAULT_DATASET

    train = validation_split(load_dataset(DEFAULT_DATASET).train).train
    texts = sorted(set(train["text_1"]) | set(train["text_2"]) | set(natural_train.all_texts()))
    return texts[::max(1, -(-len(texts) // limit))]


def calibration_pairs(limit: int = CALIBRATION_LIMIT) -> list[tuple[str, str]]:
    """A cross-encoder's calibration inputs: the pairs of the same training data as :func:`calibration_texts` (the
    default dataset's training rows without its validation rows, and the natural training pairs), each pair in both
    orders, distinct, sorted, every k-th kept so that at most ``limit`` remain (deterministic)."""
    from harness.data import natural_train
    from harness.data.dataset import load_dataset
    from harness.data.splits import validation_split
    from harness.paths import DEFAULT_DATASET

    train = validation_split(load_dataset(DEFAULT_DATASET).train).train
    files = (*natural_train.STANCE_TRIPLETS, *natural_train.NATURAL_PAIRS)  # the cross-encoder's own training files
    natural = natural_train.extra_pairs(tuple(f for f in files if natural_train.extra_path(f).is_file()))
    pairs = set()
    for frame in (train, natural):
        for a, b in zip(frame["text_1"], frame["text_2"]):
            pairs.update({(a, b), (b, a)})
    pairs = sorted(pairs)
    return pairs[::max(1, -(-len(pairs) // limit))]


def calibration_items_digest(items: list) -> str:
    """sha256 of calibration texts, or of pairs (each pair as its two texts joined by a record separator)."""
    return texts_digest([item if isinstance(item, str) else "\x1e".join(item) for item in items])


def texts_digest(texts: list[str]) -> str:
    import hashlib

    return hashlib.sha256("\n".join(texts).encode()).hexdigest()


@functools.lru_cache(maxsize=2)
def calibration_digest(kind: str | None = None) -> str:
    """sha256 of today's calibration inputs for a model of ``kind`` (:func:`calibration_pairs` for a cross-encoder,
    else :func:`calibration_texts`); read once per process: every kept int8 export is checked against it."""
    return calibration_items_digest(calibration_pairs() if kind == "cross-encoder" else calibration_texts())


def fuse_bert(src: Path, dst: Path, config_file: Path) -> dict[str, int]:
    """onnxruntime's transformer optimiser (offline, no torch): each layer's attention into one ``Attention`` op
    (Q, K and V in one weight), residual + LayerNorm into ``SkipLayerNormalization``, bias + GELU into ``BiasGelu``.
    The embedding lookup stays unfused, so that its table can be stored in fp16 (:func:`fp16_embedding_table`).
    Returns the fused-operator counts."""
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    if not config_file.is_file():
        raise FileNotFoundError(f"{config_file}: missing; the fp32 export predates it, re-export the model")
    config = json.loads(config_file.read_text())
    options = FusionOptions("bert")
    options.enable_embed_layer_norm = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # heads and width given: the optimiser's detection from the graph fails on this export
        model = optimize_model(str(src), model_type="bert", num_heads=int(config["num_attention_heads"]),
                               hidden_size=int(config["hidden_size"]), opt_level=1, optimization_options=options)
    model.save_model_to_file(str(dst))
    fused = {op: count for op, count in model.get_fused_operator_statistics().items() if count}
    layers = int(config.get("num_hidden_layers", 0))
    if layers and fused.get("Attention", 0) != layers:
        raise RuntimeError(f"{src}: onnxruntime fused {fused.get('Attention', 0)} of {layers} attention blocks; "
                           f"the int8 recipe expects every one fused")
    return fused


def weight_ops(graph) -> list:
    """Nodes that multiply activations by a constant weight: ``MatMul`` with an initializer, and ``Attention``."""
    names = {init.name for init in graph.initializer}
    return [n for n in graph.node if n.op_type in ("MatMul", "Attention") and len(n.input) > 1 and n.input[1] in names]


def activation_maxima(model, tokenizer_file: Path, tensors: list[str], texts: list[str]) -> dict[str, np.ndarray]:
    """Per-channel max |value| of each of ``tensors`` over ``texts`` (strings, or (text_1, text_2) pairs for a
    cross-encoder), one input per run (so no padding rows count)."""
    import onnx
    import onnxruntime as ort
    from onnx import helper
    from tokenizers import Tokenizer

    from harness.progress import step

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    for name in tensors:
        probe.graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(probe.SerializeToString(), options, providers=["CPUExecutionProvider"])
    wanted = {i.name for i in session.get_inputs()}
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.no_padding()
    maxima: dict[str, np.ndarray] = {}
    with step(f"int8 calibration: activation ranges over {len(texts)} training {'pairs' if texts and not isinstance(texts[0], str) else 'texts'}"):
        for e in tokenizer.encode_batch(texts):
            feed = token_feed([e])
            for name, value in zip(tensors, session.run(tensors, {k: v for k, v in feed.items() if k in wanted})):
                channel = np.abs(value.reshape(-1, value.shape[-1])).max(axis=0)
                maxima[name] = channel if name not in maxima else np.maximum(maxima[name], channel)
    return maxima


def smooth(model_path: Path, tokenizer_file: Path, texts: list[str], alpha: float = SMOOTH_ALPHA) -> int:
    """SmoothQuant (see :data:`SMOOTH_ALPHA`) applied in place to every weight op of ``model_path``: a ``Mul`` by 1/s
    before the op, the weight's rows times s. Returns the number of ops smoothed."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path))
    graph = model.graph
    targets = weight_ops(graph)
    maxima = activation_maxima(model, tokenizer_file, sorted({n.input[0] for n in targets}), texts)
    weights = {init.name: init for init in graph.initializer}
    nodes = []
    for node in graph.node:
        if node in targets:
            weight = numpy_helper.to_array(weights[node.input[1]])
            scale = (np.clip(maxima[node.input[0]], 1e-5, None) ** alpha
                     / np.clip(np.abs(weight).max(axis=1), 1e-5, None) ** (1 - alpha)).astype(np.float32)
            weights[node.input[1]].CopyFrom(numpy_helper.from_array(weight * scale[:, None], node.input[1]))
            inverse = numpy_helper.from_array((1 / scale).astype(np.float32), f"{node.name}/smooth_inverse")
            graph.initializer.append(inverse)
            smoothed = f"{node.input[0]}/smoothed_for/{node.name}"
            nodes.append(helper.make_node("Mul", [node.input[0], inverse.name], [smoothed], name=f"{node.name}/smooth"))
            node.input[0] = smoothed
        nodes.append(node)
    del graph.node[:]
    graph.node.extend(nodes)
    onnx.save(model, str(model_path))
    return len(targets)


def fp16_embedding_table(model_path: Path) -> str | None:
    """Store the word-embedding table (the one large Gather) in fp16, cast back to fp32 after the lookup: half the
    bytes of the biggest weight at ~1e-3 relative error per element (int8 per-tensor, quantize_dynamic's Gather,
    cost the worst selection-set text 0.005 cosine). Returns the table's name, or None if there is none."""
    import onnx
    from onnx import helper, numpy_helper

    model = onnx.load(str(model_path))
    graph = model.graph
    tables = {init.name: init for init in graph.initializer if init.data_type == onnx.TensorProto.FLOAT and len(init.dims) == 2}
    gathers = [n for n in graph.node if n.op_type == "Gather" and n.input[0] in tables and tables[n.input[0]].dims[0] >= 1000]
    if len(gathers) != 1:
        return None
    gather = gathers[0]
    table = tables[gather.input[0]]
    half = numpy_helper.from_array(numpy_helper.to_array(table).astype(np.float16), name=table.name + "_fp16")
    graph.initializer.remove(table)
    graph.initializer.append(half)
    output = gather.output[0]
    gather.input[0], gather.output[0] = half.name, output + "_fp16"
    cast = helper.make_node("Cast", [output + "_fp16"], [output], to=onnx.TensorProto.FLOAT, name=gather.name + "_to_fp32")
    graph.node.insert(list(graph.node).index(gather) + 1, cast)
    onnx.checker.check_model(model)
    onnx.save(model, str(model_path))
    return table.name


def quantize_file(src: Path, dst: Path, texts: list[str] | None = None,
                  alpha: float | None = SMOOTH_ALPHA) -> dict:
    """``src`` (fp32 ONNX, in an export folder with ``config.json`` and ``tokenizer.json``) -> ``dst``: the fused BERT
    graph, smoothed (calibrated on ``texts``, default :func:`calibration_texts`; ``alpha=None``: not smoothed), every
    weight op in 8 bits (QInt8 weights per output channel, activations quantised at run time per call), the
    embedding table in fp16. Returns the settings used."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    texts = calibration_texts() if texts is None else texts
    with tempfile.TemporaryDirectory(prefix="harness-quant-") as scratch:
        fused, prepared = Path(scratch) / "fused.onnx", Path(scratch) / "prepared.onnx"
        fusions = fuse_bert(src, fused, src.parent / "config.json")
        smoothed = smooth(fused, src.parent / "tokenizer.json", texts, alpha) if alpha is not None else 0
        # symbolic shape inference fails on this graph ("Incomplete symbolic shape inference") and leaves temp
        # files in the working directory; onnx's own shape inference is enough for the quantiser
        quant_pre_process(str(fused), str(prepared), skip_symbolic_shape=True)
        quantize_dynamic(str(prepared), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul", "Attention"],
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    table = fp16_embedding_table(dst)
    return {"graph": "onnxruntime.transformers.optimize_model(model_type='bert'), embeddings unfused",
            "fused_operators": fusions, "smoothquant": {"alpha": alpha, "ops": smoothed,
                                                        "calibration_texts": len(texts),
                                                        "calibration_sha256": calibration_items_digest(texts)},
            "weight_type": "QInt8", "per_channel": True, "op_types_to_quantize": ["MatMul", "Attention"],
            "activations": "dynamic uint8, per call (one text per call)", "fp16_tables": [table] if table else [],
            "pre_process": "quant_pre_process(skip_symbolic_shape=True)"}


def quantize_int8(fp32_folder: Path, out: Path) -> dict:
    """The ``onnx-int8`` export from an ``onnx`` one: the same supporting files, a quantised model.onnx."""
    fp32_folder, out = Path(fp32_folder), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for path in fp32_folder.iterdir():
        if path.name in (MODEL_FILE, INFO_FILE, "manifest.json") or path.name.startswith("."):
            continue
        (shutil.copytree(path, out / path.name, dirs_exist_ok=True) if path.is_dir() else shutil.copy2(path, out / path.name))
    info = json.loads((fp32_folder / INFO_FILE).read_text())
    if info.get("kind") == "cross-encoder":
        return _quantize_cross_encoder(fp32_folder, out, info)
    settings = quantize_file(fp32_folder / MODEL_FILE, out / MODEL_FILE)
    fp32 = OnnxEncoder(fp32_folder).encode(PROBE, normalize_embeddings=True)
    int8 = OnnxEncoder(out).encode(PROBE, normalize_embeddings=True)
    cosines = (fp32 * int8).sum(axis=1)
    if cosines.min() < INT8_MIN_COSINE:
        raise RuntimeError(f"{out.name}: int8 embeddings drift from fp32 on the probe texts (min cosine "
                           f"{cosines.min():.4f} < {INT8_MIN_COSINE}); not kept")
    info.update({"format": "onnx-int8", "recipe": EXPORT_RECIPE, "quantized_from": fp32_folder.name,
                 "quantization": settings, "probe_check": {**info.get("probe_check", {}),
                                                           "min_cosine_vs_fp32": float(cosines.min()),
                                                           "mean_cosine_vs_fp32": float(cosines.mean())},
                 "libraries": library_versions()})
    (out / INFO_FILE).write_text(json.dumps(info, indent=2))
    return info


def _quantize_cross_encoder(fp32_folder: Path, out: Path, info: dict) -> dict:
    """The int8 recipe on a cross-encoder's graph, calibrated on training pairs (:func:`calibration_pairs`); the
    probabilities on the probe pairs must stay within :data:`INT8_MAX_PROBABILITY_DIFF` of the fp32 export's."""
    from harness.models.onnx_cross_encoder import OnnxCrossEncoder

    settings = quantize_file(fp32_folder / MODEL_FILE, out / MODEL_FILE, texts=calibration_pairs())
    fp32 = OnnxCrossEncoder(fp32_folder).predict(PROBE_PAIRS)
    int8 = OnnxCrossEncoder(out, per_pair=True).predict(PROBE_PAIRS)  # export_info.json is written once, below
    diff = float(np.abs(fp32 - int8).max())
    if diff > INT8_MAX_PROBABILITY_DIFF:
        raise RuntimeError(f"{out.name}: int8 probabilities drift from fp32 on the probe pairs (max |diff| {diff:.4f} "
                           f"> {INT8_MAX_PROBABILITY_DIFF}); not kept")
    info = {**info, "format": "onnx-int8", "recipe": EXPORT_RECIPE, "quantized_from": fp32_folder.name,
            "quantization": settings, "libraries": library_versions(),
            "probe_check": {**info.get("probe_check", {}), "max_abs_probability_diff_vs_fp32": diff}}
    (out / INFO_FILE).write_text(json.dumps(info, indent=2))
    return info
