"""Evaluation harness for contrastive fine-tuning of sentence embeddings on dating-compatibility pairs.

The library is importable without pytest: data contract and gates (``dataset``, ``schema``,
``leakage``, ``quality``), the synthetic generator (``generate``), training and caching
(``training``, ``cache``), embeddings and metrics (``embeddings``, ``metrics``) and the
success criteria as data (``criteria``). ``checks/`` turns them into pytest gates.
"""

__version__ = "0.1.0"
