import pytest

from harness.evaluation.criteria import CRITERIA, cases
from harness.models.registry import MODELS, get_model_spec, resolve_model_names

pytestmark = pytest.mark.unit


def test_typo_suggests_the_registered_name():
    with pytest.raises(KeyError, match="Did you mean 'lora'"):
        get_model_spec("lroa")


def test_all_expands_and_defaults():
    assert resolve_model_names(["all"]) == list(MODELS)
    assert resolve_model_names(None) == ["baseline", "standard", "lora"]
    assert resolve_model_names(["lora", "lora"]) == ["lora"]


def test_baseline_joins_every_criterion_as_before():
    for default_data, scope in ((False, "external"), (True, "default")):
        selected = cases(["baseline", "lora"], default_data=default_data)
        assert {c for c, m in selected if m == "baseline"} == {c for c in CRITERIA if c.datasets in ("any", scope)}
        assert all(m in c.models or m == "baseline" for c, m in selected)


def test_eval_file_repeats_full_eval_criteria():
    plain, extra = cases(["standard"]), cases(["standard"], extra_split="eval_file")
    added = [c for c, _ in extra if c.scored_on == "eval_file"]
    assert len(extra) > len(plain) and added and all(c.metric != "cluster_purity" for c in added)
