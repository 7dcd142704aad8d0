"""Score pairs with an exported cross-encoder folder using only ``tokenizers`` and ``onnxruntime`` (no torch).

:class:`OnnxCrossEncoder` reads the folder that ``python -m harness export --model cross-encoder`` writes:
``model.onnx`` (one logit per pair out), ``tokenizer.json`` (BERT's pair template: ``[CLS] a [SEP] b [SEP]`` with
token types 0 and 1, truncated longest-first) and ``sentence_bert_config.json`` (max sequence length). ``predict``
has ``CrossEncoder.predict``'s signature and, like a ``num_labels=1`` CrossEncoder, returns the sigmoid of the
logit, so :func:`harness.models.cross_encoder.symmetric_scores` scores with it unchanged.

Like :mod:`harness.models.onnx_encoder` (whose helpers it uses), it imports numpy, onnxruntime and tokenizers only.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from harness.models.onnx_encoder import MODEL_FILE, LengthBatches, default_threads, read_max_seq_length, token_feed

LOGITS = "logits"


class OnnxCrossEncoder:
    """An exported cross-encoder: tokenise each pair, run the graph, sigmoid of the logit.

    An int8 export (activations quantised at run time per call) runs one pair per call, ``threads`` pairs at once, so
    a pair's score does not depend on its batch-mates; an fp32 export runs batches on ``threads`` intra-op threads.
    ``per_pair``: one pair per call; default from ``export_info.json`` (True for the "onnx-int8" format)."""

    def __init__(self, folder: str | Path, intra_op_num_threads: int | None = None, per_pair: bool | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        self.folder = Path(folder)
        model_path = self.folder / MODEL_FILE
        if not model_path.is_file():
            raise FileNotFoundError(f"{self.folder}: no {MODEL_FILE}; export the model first (python -m harness export)")
        info_path = self.folder / "export_info.json"
        self.info = json.loads(info_path.read_text()) if info_path.is_file() else {}
        self.max_length = read_max_seq_length(self.folder, default=512)
        self.tokenizer = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_length=self.max_length, strategy="longest_first")
        pad_id = self.tokenizer.token_to_id("[PAD]")
        self.pad_id = 0 if pad_id is None else pad_id
        self.per_pair = self.info.get("format") == "onnx-int8" if per_pair is None else per_pair
        self.threads = intra_op_num_threads or default_threads()
        self._batches = LengthBatches(self.per_pair, self.threads, "onnx-cross-encoder")
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1 if self.per_pair else self.threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # see OnnxEncoder
        self.session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
        self.input_names = [i.name for i in self.session.get_inputs()]

    def __repr__(self) -> str:
        return f"OnnxCrossEncoder({str(self.folder)!r}, max_length={self.max_length}, per_pair={self.per_pair})"

    def _run(self, encodings: list) -> np.ndarray:
        feed = token_feed(encodings, self.pad_id)
        logits = self.session.run([LOGITS], {name: feed[name] for name in self.input_names})[0]
        return logits.reshape(len(encodings), -1)[:, 0]

    def logits(self, pairs: list) -> np.ndarray:
        """One logit per (text_1, text_2) pair, in order."""
        pairs = [tuple(p) for p in pairs]
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        return self._batches.run(self._run, self.tokenizer.encode_batch(pairs), 64).astype(np.float32, copy=False)

    def predict(self, sentences: list, batch_size: int = 64, show_progress_bar: bool = False,
                **kwargs) -> np.ndarray:
        """P(label 1) per pair: the sigmoid of the logit, as ``CrossEncoder.predict`` for ``num_labels=1``. The
        batch size and other CrossEncoder keywords are accepted and ignored (batches of 64, or one pair per call
        for int8)."""
        return 1.0 / (1.0 + np.exp(-self.logits(sentences).astype(np.float64)))
