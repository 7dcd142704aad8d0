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

``onnx-int8``: built from the ``onnx`` export: ``quant_pre_process`` (shape inference, basic optimisations),
then ``quantize_dynamic`` of the MatMuls with signed 8-bit weights per output channel (per-tensor scales cost
~0.03 cosine to the fp32 embeddings), activations quantised at run time; the feed-forward blocks of the first two
thirds of the layers stay fp32 (:func:`fp32_matmuls`) and the word-embedding table is stored in fp16
(:func:`fp16_embedding_table`). OnnxEncoder runs an int8 model one text per call, so a text's embedding does not
depend on its batch-mates. See docs/adr/005-onnx-int8-export.md.
"""

from __future__ import annotations

import contextlib
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
from harness.models.onnx_encoder import MODEL_FILE, OnnxEncoder
from harness.models.registry import EXPORT_FORMATS, ModelSpec
from harness.paths import base_model_path, models_dir

#: Bump when the export or quantisation recipe changes: an export made by another recipe is rebuilt.
EXPORT_RECIPE = 4
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


def recipe_of(folder: Path) -> int | None:
    try:
        return json.loads((folder / INFO_FILE).read_text()).get("recipe")
    except (OSError, ValueError):
        return None


def _retire_other_recipe(final: Path) -> None:
    """An export made by another recipe is moved aside as a stale ``.partial-*`` (removed by the next build), and
    every cache file derived from an export of the same source (embeddings, metrics, projections: their keys are
    the export's name, which does not change with the recipe) is removed with it."""
    recipe = recipe_of(final)
    if not (final.is_dir() and (final / "manifest.json").is_file()) or recipe == EXPORT_RECIPE:
        return
    warnings.warn(f"rebuilding {final.name}: made by export recipe {recipe}, now {EXPORT_RECIPE}; "
                  f"dropping the cached embeddings and metrics of its exports", stacklevel=3)
    with contextlib.suppress(OSError):
        os.replace(final, final.parent / f".partial-{final.name}-recipe{recipe}")
    stem = final.name.rsplit("@", 1)[0] + "@"
    for kind in ("embeddings", "metrics", "projections"):
        for path in cache_dir(kind).glob(f"*{glob.escape(stem)}*"):
            path.unlink(missing_ok=True)


def ensure_exported(source, fmt: str, verify: bool = False) -> Path:
    """The export folder of ``source`` (a :class:`harness.models.handle.ModelRef` of a registered model) in
    ``fmt``, exported now if absent (and the source trained now if absent); ``onnx-int8`` builds on ``onnx``."""
    final = export_dir(source.key, fmt)
    _retire_other_recipe(final)
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


def _torch_export(model, tokenizer_file: Path, path: Path) -> None:
    import torch
    from tokenizers import Tokenizer

    class TokenEmbeddings(torch.nn.Module):
        def __init__(self, transformer):
            super().__init__()
            self.transformer = transformer

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.transformer(input_ids=input_ids, attention_mask=attention_mask,
                                    token_type_ids=token_type_ids).last_hidden_state

    wrapper = TokenEmbeddings(model).eval()  # eval: a module in training mode would trace dropout
    tokenizer = Tokenizer.from_file(str(tokenizer_file))
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    encodings = tokenizer.encode_batch(PROBE[:2])  # padded: the traced graph keeps the attention-mask path
    example = tuple(torch.tensor([getattr(e, a) for e in encodings], dtype=torch.long)
                    for a in ("ids", "attention_mask", "type_ids"))
    axes = {name: {0: "batch", 1: "sequence"} for name in (*INPUT_NAMES, OUTPUT_NAME)}
    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the legacy-exporter notice and tracer warnings on shape arithmetic
        torch.onnx.export(wrapper, example, str(path), dynamo=False, input_names=list(INPUT_NAMES),
                          output_names=[OUTPUT_NAME], dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)


def _copy_support_files(source: Path, out: Path, max_seq_length: int) -> None:
    for name in SUPPORT_FILES:
        if (source / name).is_file():
            shutil.copy2(source / name, out / name)
    for module in json.loads((source / "modules.json").read_text()):
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

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    source = Path(artifact) if artifact is not None else base_model_path()
    reference = load_model(spec, artifact)  # the PyTorch model the harness scores (a LoRA: base + load_adapter)
    _torch_export(merged_transformer(spec, artifact), source / "tokenizer.json", out / MODEL_FILE)
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


def _base_spec() -> ModelSpec:
    from harness.models.registry import get_model_spec

    return get_model_spec("baseline")


# --- int8 ---------------------------------------------------------------------------------------------------

#: The feed-forward blocks of this share of the layers, from the first, stay fp32 in the int8 export.
FP32_FFN_SHARE = 2 / 3


def fp32_matmuls(model_path: Path) -> list[str]:
    """MatMul nodes kept in fp32: the feed-forward block (``intermediate/dense`` and ``output/dense``) of the first
    two thirds of the layers (0-3 of MiniLM-L6's 6).

    Chosen on the selection sets only (validation split + natural dev of the reference data, 661 texts), standard
    and lora, one text per call: quantised alone, each feed-forward MatMul of layers 0-2 (and layer 3's
    intermediate) costs the worst text 0.0045-0.031 cosine to the fp32 model, every other MatMul < 0.0035. Worst-text cosine / mean |change of a pair's cosine|:
    everything int8 0.908 / -- (standard, batched); first 3 layers' feed-forward fp32 0.987 / 0.0060 (standard),
    0.990 / 0.0078 (lora); first 4 layers' 0.993 / 0.0051, 0.988 / 0.0061 (this); every layer's 0.994 / 0.0043.
    Keeping every layer's output projection instead (the same FLOPs as 3 layers' blocks) left the worst text at
    0.901. See docs/adr/005-onnx-int8-export.md."""
    import re

    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    pattern = re.compile(r"/layer\.(\d+)/(intermediate|output)/dense/MatMul")
    found = [(int(m.group(1)), n.name) for n in graph.node if n.op_type == "MatMul" and (m := pattern.search(n.name))]
    layers = 1 + max((layer for layer, _ in found), default=-1)
    return [name for layer, name in found if layer < round(layers * FP32_FFN_SHARE)]


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


def quantize_file(src: Path, dst: Path) -> dict:
    """``src`` (fp32 ONNX) -> ``dst`` (int8 weights, dynamic activations); returns the settings used."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.quantization.shape_inference import quant_pre_process

    with tempfile.TemporaryDirectory(prefix="harness-quant-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        # symbolic shape inference fails on this graph ("Incomplete symbolic shape inference") and leaves temp
        # files in the working directory; onnx's own shape inference is enough for the quantiser
        quant_pre_process(str(src), str(prepared), skip_symbolic_shape=True)
        kept = fp32_matmuls(prepared)
        quantize_dynamic(str(prepared), str(dst), weight_type=QuantType.QInt8, per_channel=True,
                         op_types_to_quantize=["MatMul"], nodes_to_exclude=kept,
                         extra_options={"DefaultTensorType": onnx.TensorProto.FLOAT})
    table = fp16_embedding_table(dst)
    return {"weight_type": "QInt8", "per_channel": True, "activations": "dynamic uint8, per call (one text per call)",
            "op_types_to_quantize": ["MatMul"], "fp32_nodes": kept, "fp16_tables": [table] if table else [],
            "pre_process": "quant_pre_process(skip_symbolic_shape=True)"}


def quantize_int8(fp32_folder: Path, out: Path) -> dict:
    """The ``onnx-int8`` export from an ``onnx`` one: the same supporting files, a quantised model.onnx."""
    fp32_folder, out = Path(fp32_folder), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for path in fp32_folder.iterdir():
        if path.name in (MODEL_FILE, INFO_FILE, "manifest.json") or path.name.startswith("."):
            continue
        (shutil.copytree(path, out / path.name, dirs_exist_ok=True) if path.is_dir() else shutil.copy2(path, out / path.name))
    settings = quantize_file(fp32_folder / MODEL_FILE, out / MODEL_FILE)
    fp32 = OnnxEncoder(fp32_folder).encode(PROBE, normalize_embeddings=True)
    int8 = OnnxEncoder(out).encode(PROBE, normalize_embeddings=True)
    cosines = (fp32 * int8).sum(axis=1)
    if cosines.min() < INT8_MIN_COSINE:
        raise RuntimeError(f"{out.name}: int8 embeddings drift from fp32 on the probe texts (min cosine "
                           f"{cosines.min():.4f} < {INT8_MIN_COSINE}); not kept")
    info = json.loads((fp32_folder / INFO_FILE).read_text())
    info.update({"format": "onnx-int8", "recipe": EXPORT_RECIPE, "quantized_from": fp32_folder.name,
                 "quantization": settings, "probe_check": {**info.get("probe_check", {}),
                                                           "min_cosine_vs_fp32": float(cosines.min()),
                                                           "mean_cosine_vs_fp32": float(cosines.mean())},
                 "libraries": library_versions()})
    (out / INFO_FILE).write_text(json.dumps(info, indent=2))
    return info
