"""Encode with an exported model folder using only ``tokenizers`` and ``onnxruntime`` (no torch, no transformers).

:class:`OnnxEncoder` reads everything it needs from the folder that ``python -m harness export`` writes:
``model.onnx`` (token embeddings out), ``tokenizer.json``, ``sentence_bert_config.json`` (max sequence length),
``1_Pooling/config.json`` (the pooling mode) and ``modules.json`` (a ``Normalize`` module means unit-length
output). ``encode`` has SentenceTransformer's signature, so anything that encodes with a SentenceTransformer
(``harness.models.embeddings.encode``, the evaluator) encodes with this too.

This module must stay importable in a service that has neither torch nor the harness's training stack: it imports
numpy, onnxruntime and tokenizers, and nothing from the rest of the harness.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

MODEL_FILE = "model.onnx"
POOLING_MODES = ("mean", "cls", "max", "mean_sqrt_len")


def default_threads() -> int:
    """Threads for one session: the CPUs this process may run on (2 on the harness's CPU box). ORT's default
    also counts only physical cores, but reads the whole machine, not this process's affinity or a container."""
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = os.cpu_count() or 1
    return max(1, available)


def read_pooling(folder: Path) -> str:
    """The pooling mode from ``1_Pooling/config.json``: the sentence-transformers >= 6 form (``"pooling_mode":
    "mean"``) or the older flags (``"pooling_mode_mean_tokens": true``)."""
    path = folder / "1_Pooling" / "config.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no 1_Pooling/config.json; is this an exported model folder?")
    config = json.loads(path.read_text())
    if isinstance(config.get("pooling_mode"), str):
        modes = [config["pooling_mode"]]
    else:
        flags = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens", "max": "pooling_mode_max_tokens",
                 "mean_sqrt_len": "pooling_mode_mean_sqrt_len_tokens"}
        modes = [mode for mode, key in flags.items() if config.get(key)]
    if len(modes) != 1 or modes[0] not in POOLING_MODES:
        raise ValueError(f"{path}: unsupported pooling {modes or config}; OnnxEncoder pools one of {', '.join(POOLING_MODES)}")
    return modes[0]


def reads_normalised(folder: Path) -> bool:
    """True when the model's own modules end with a Normalize module (``modules.json``)."""
    path = folder / "modules.json"
    if not path.is_file():
        raise FileNotFoundError(f"{folder}: no modules.json; is this an exported model folder?")
    return any(str(m.get("type", "")).rsplit(".", 1)[-1] == "Normalize" for m in json.loads(path.read_text()))


def read_max_seq_length(folder: Path, default: int = 256) -> int:
    path = folder / "sentence_bert_config.json"
    if path.is_file():
        value = json.loads(path.read_text()).get("max_seq_length")
        if value:
            return int(value)
    return default


def read_default_prompt(folder: Path) -> str:
    """The model's default prompt (``config_sentence_transformers.json``), prepended to every text like
    ``SentenceTransformer.encode`` does; "" when it has none."""
    path = Path(folder) / "config_sentence_transformers.json"
    if not path.is_file():
        return ""
    config = json.loads(path.read_text())
    name = config.get("default_prompt_name")
    return (config.get("prompts") or {}).get(name, "") if name else ""


def token_feed(encodings: list, pad_id: int = 0) -> dict[str, np.ndarray]:
    """The exported graph's inputs for tokenised texts (``tokenizers`` encodings), padded to the longest of them:
    ``input_ids``, ``attention_mask``, ``token_type_ids`` (int64, one row per text)."""
    width = max(len(e.ids) for e in encodings)
    ids = np.full((len(encodings), width), pad_id, dtype=np.int64)
    mask = np.zeros((len(encodings), width), dtype=np.int64)
    types = np.zeros((len(encodings), width), dtype=np.int64)
    for row, e in enumerate(encodings):
        ids[row, :len(e.ids)], mask[row, :len(e.ids)], types[row, :len(e.ids)] = e.ids, 1, e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class LengthBatches:
    """Runs tokenised items through a graph longest first (little padding per batch) and returns the rows in the
    items' order. ``one_per_call`` (an int8 graph, whose activations are quantised per call): one item per call, so
    an item's result never depends on its batch-mates, and ``threads`` calls at once on worker threads
    (``session.run`` releases the GIL and an InferenceSession may be run from several threads); otherwise batches of
    ``batch_size`` run one after another (each on the session's own intra-op threads). Shared by
    :class:`OnnxEncoder` and :class:`harness.models.onnx_cross_encoder.OnnxCrossEncoder`."""

    def __init__(self, one_per_call: bool, threads: int, name: str = "onnx"):
        self.one_per_call, self.threads, self.name = one_per_call, threads, name
        self._workers = None

    def run(self, run, encodings: list, batch_size: int) -> np.ndarray:
        """``run(batch)`` over the batches of ``encodings`` (longest first), its rows put back in input order."""
        order = np.argsort([-len(e.ids) for e in encodings], kind="stable")
        step = 1 if self.one_per_call else max(1, int(batch_size))
        batches = [[encodings[i] for i in order[start:start + step]] for start in range(0, len(encodings), step)]
        if self.one_per_call and self.threads > 1 and len(batches) > 1:
            if self._workers is None:
                from concurrent.futures import ThreadPoolExecutor

                self._workers = ThreadPoolExecutor(self.threads, thread_name_prefix=self.name)
            chunks = list(self._workers.map(run, batches))
        else:
            chunks = [run(batch) for batch in batches]
        rows = np.concatenate(chunks)
        out = np.empty_like(rows)
        out[order] = rows
        return out


class OnnxEncoder:
    """An exported sentence-embedding model: tokenise, run the ONNX graph, pool, (normalise).

    ``intra_op_num_threads``: the cores one ``encode`` call uses (default: this process's CPUs); a batched (fp32)
    model runs each batch on that many onnxruntime threads, a per-text (int8) model that many texts at once on one
    thread each. ``per_text``: default True for an int8 export (see :attr:`per_text`).

    ``runtime="openvino"`` runs the same file with OpenVINO's CPU plugin instead (``openvino.Core().compile_model``,
    batched; ``precision`` "f32" or "bf16", default OpenVINO's own choice for the CPU: bf16 where it has AVX512-BF16
    or AMX). OpenVINO converts the fp32 export; it has no conversion for onnxruntime's ``QAttention``, so an int8
    export runs on onnxruntime only."""

    RUNTIMES = ("onnxruntime", "openvino")

    def __init__(self, folder: str | Path, intra_op_num_threads: int | None = None, providers: list[str] | None = None,
                 per_text: bool | None = None, spinning: bool = False, runtime: str = "onnxruntime",
                 precision: str | None = None):
        from tokenizers import Tokenizer

        if runtime not in self.RUNTIMES:
            raise ValueError(f"unknown runtime {runtime!r}; one of {', '.join(self.RUNTIMES)}")
        self.runtime = runtime

        self.folder = Path(folder)
        model_path = self.folder / MODEL_FILE
        if not model_path.is_file():
            raise FileNotFoundError(f"{self.folder}: no {MODEL_FILE}; export the model first (python -m harness export)")
        self.pooling = read_pooling(self.folder)
        self.normalize = reads_normalised(self.folder)
        self.max_seq_length = read_max_seq_length(self.folder)
        info_path = self.folder / "export_info.json"
        self.info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self.prompt = read_default_prompt(self.folder)

        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.no_padding()  # texts are padded here, per batch
        self.tokenizer.enable_truncation(max_length=self.max_seq_length)
        pad_id = self.tokenizer.token_to_id(self._pad_token())
        self.pad_id = 0 if pad_id is None else pad_id

        #: Dynamic quantisation scales activations per batch tensor (padding included), so in a batch a text's
        #: embedding would depend on its batch-mates (measured: cosine 0.990 between the same text encoded in two
        #: batches). An int8 model therefore runs one text per call unless ``per_text=False``: every text gets the
        #: embedding it gets alone, whatever the batching.
        self.per_text = (self.dynamically_quantised() if per_text is None else per_text) and runtime == "onnxruntime"
        #: Cores for one ``encode`` call. A batched model runs each batch on this many intra-op threads; a per-text
        #: model runs each text on one thread and this many texts at once (``session.run`` releases the GIL and an
        #: InferenceSession may be run from several threads): short texts leave little for threads inside one small
        #: matrix product to share (measured on 2 cores, int8, batch 32: 1085 sentences/s with 2 texts at once on
        #: 1 thread each, 476 one text at a time on 2 threads, 727 with 2 texts at once on 2 threads each).
        self.threads = intra_op_num_threads or default_threads()
        self._batches = LengthBatches(self.per_text, self.threads, "onnx-encoder")
        self.precision = "f32"
        if runtime == "openvino":
            self._compile_openvino(model_path, precision)
            return
        import onnxruntime as ort

        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if self.per_text else self.threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only
        # Idle worker threads sleep instead of spinning: on a small CPU shared with other work (2 cores here),
        # spinning threads take cycles from everything else (measured while other jobs ran: int8 248 vs 130
        # sentences/s at batch 1, 214 vs 153 at batch 32, with spinning off vs on).
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
        self.session = ort.InferenceSession(str(model_path), options, providers=providers or ["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]
        self.output_name = self.session.get_outputs()[0].name
        self.dimension = self.session.get_outputs()[0].shape[-1]

    def _compile_openvino(self, model_path: Path, precision: str | None) -> None:
        import openvino as ov

        config = {"INFERENCE_NUM_THREADS": self.threads}
        if precision:
            config["INFERENCE_PRECISION_HINT"] = precision
        try:
            self.compiled = ov.Core().compile_model(str(model_path), "CPU", config)
        except RuntimeError as err:
            reason = next((line.strip() for line in str(err).splitlines() if "No conversion rule" in line),
                          str(err).splitlines()[0] if str(err) else type(err).__name__)
            raise ValueError(f"{self.folder}: OpenVINO cannot run this file ({reason}); "
                             f"run it with runtime='onnxruntime'") from err
        self.precision = self.compiled.get_property("INFERENCE_PRECISION_HINT").get_type_name()  # "f32", "bf16"
        self.input_names = [i.any_name for i in self.compiled.inputs]
        self.output_name = self.compiled.outputs[0].any_name
        last = self.compiled.outputs[0].get_partial_shape()[-1]
        self.dimension = last.get_length() if last.is_static else None

    def _pad_token(self) -> str:
        path = self.folder / "tokenizer_config.json"
        config = json.loads(path.read_text()) if path.is_file() else {}
        token = config.get("pad_token", "[PAD]")
        return token.get("content", "[PAD]") if isinstance(token, dict) else str(token)

    def __repr__(self) -> str:
        return (f"OnnxEncoder({str(self.folder)!r}, pooling={self.pooling}, normalize={self.normalize}, "
                f"max_seq_length={self.max_seq_length}, per_text={self.per_text}, "
                f"threads={self.threads}, runtime={self.runtime}, precision={self.precision})")

    def get_sentence_embedding_dimension(self) -> int | None:
        return self.dimension if isinstance(self.dimension, int) else None

    def dynamically_quantised(self) -> bool:
        """True when the graph quantises activations at run time (``quantize_dynamic``'s DynamicQuantizeLinear):
        from ``export_info.json``, else from the op names in the file (no ``onnx`` package needed)."""
        if "format" in self.info:
            return self.info["format"] == "onnx-int8"
        data = (self.folder / MODEL_FILE).read_bytes()
        return b"DynamicQuantizeLinear" in data or b"DynamicQuantizeMatMul" in data

    def _run(self, encodings: list) -> np.ndarray:
        """Pooled (not yet normalised) embeddings of tokenised texts, padded to the longest of them."""
        feed = token_feed(encodings, self.pad_id)
        mask = feed["attention_mask"]
        feed = {name: feed[name] for name in self.input_names}
        if self.runtime == "openvino":
            tokens = self.compiled(feed)[self.compiled.outputs[0]]
        else:
            tokens = self.session.run([self.output_name], feed)[0]
        return self._pooled(tokens, mask)

    def _pooled(self, tokens: np.ndarray, mask: np.ndarray) -> np.ndarray:
        if self.pooling == "cls":
            return tokens[:, 0]
        weights = mask[..., None].astype(tokens.dtype)
        if self.pooling == "max":
            return np.where(weights > 0, tokens, -1e9).max(axis=1)
        summed = (tokens * weights).sum(axis=1)
        counts = np.clip(weights.sum(axis=1), 1e-9, None)
        return summed / (np.sqrt(counts) if self.pooling == "mean_sqrt_len" else counts)

    def encode(self, sentences: str | list[str], batch_size: int = 32, convert_to_numpy: bool = True,
               normalize_embeddings: bool = False, show_progress_bar: bool = False, **kwargs) -> np.ndarray:
        """Embeddings as a float32 array (one row per sentence; a 1-D vector for a single string), like
        ``SentenceTransformer.encode``. Texts are batched by token length (longest first) so padding stays short;
        an int8 model runs them one per call, ``threads`` at once (see ``per_text``).
        ``convert_to_numpy``, ``show_progress_bar`` and other SentenceTransformer keywords are accepted and
        ignored: the result is always a numpy array."""
        single = isinstance(sentences, str)
        texts = [sentences] if single else list(sentences)
        prompt = kwargs.get("prompt", self.prompt)  # the model's default prompt, as SentenceTransformer.encode applies it
        if prompt:
            texts = [prompt + text for text in texts]
        if not texts:
            return np.zeros((0, self.dimension if isinstance(self.dimension, int) else 0), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(texts)
        vectors = self._batches.run(self._run, encodings, batch_size).astype(np.float32, copy=False)
        if self.normalize or normalize_embeddings:
            vectors = vectors / np.clip(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12, None)
        return vectors[0] if single else vectors
