import pytest

from harness.criteria import CRITERIA, cases
from harness.registry import MODELS, get_model_spec, resolve_model_names

pytestmark = pytest.mark.unit


def test_typo_suggests_the_registered_name():
    with pytest.raises(KeyError, match="Did you mean 'lora'"):
        get_model_spec("lroa")


def test_all_expands_and_defaults():
    assert resolve_model_names(["all"]) == list(MODELS)
    assert resolve_model_names(None) == ["baseline", "standard", "lora"]
    assert resolve_model_names(["lora", "lora"]) == ["lora"]


def test_baseline_joins_every_criterion_as_before():
    selected = cases(["baseline", "lora"])
    assert {c for c, m in selected if m == "baseline"} == set(CRITERIA)
    assert all(m in c.models or m == "baseline" for c, m in selected)
