import pytest

import re

from harness.data.scored_sets import EVAL, EVAL_EXTRA, SCORED_SETS, ScoredSet, get_scored_set, register, require_selection
from harness.evaluation.criteria import ALL_CRITERIA, CRITERIA, GATE, TARGET, cases
from harness.paths import PROJECT_ROOT
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
        # every criterion id once (a criterion split into gate and target rows has one id)
        baseline_ids = [c.id for c, m in selected if m == "baseline"]
        assert len(baseline_ids) == len(set(baseline_ids))
        assert set(baseline_ids) == {c.id for c in ALL_CRITERIA if c.datasets in ("any", scope)}
        assert all(m in c.models or m == "baseline" for c, m in selected)


def test_eval_file_repeats_full_eval_criteria():
    plain, extra = cases(["standard"]), cases(["standard"], extra_split=True)
    added = [c for c, _ in extra if c.scored_on == EVAL_EXTRA]
    assert len(extra) > len(plain) and added and all(c.metric != "cluster_purity" for c in added)


def test_scored_set_registry_refuses_duplicates_and_suggests_names():
    with pytest.raises(ValueError, match="registered twice"):
        register(ScoredSet(EVAL, "report", "again", lambda c: None))
    with pytest.raises(KeyError, match="Did you mean 'natural_test'"):
        get_scored_set("natural_tset")


def test_only_selection_sets_may_choose():
    """The trainer's evaluator and every threshold come from selection sets; report sets refuse."""
    with pytest.raises(ValueError, match="must never be used to choose"):
        require_selection(EVAL)
    assert {n for n, s in SCORED_SETS.items() if s.role == "selection"} == {"validation", "natural_dev"}


def test_every_criterion_names_a_registered_set_and_a_status():
    for c in CRITERIA:
        get_scored_set(c.scored_on)
    assert all(c.status in (GATE, TARGET) for c in ALL_CRITERIA)


def test_no_scored_set_name_as_a_bare_string_outside_the_registry():
    """Scored sets are referred to by the registry's constants; a bare "eval" string elsewhere would bypass it."""
    names = "|".join(map(re.escape, SCORED_SETS))
    pattern = re.compile(rf"""["']({names})["']""")
    offenders = []
    # generate.py names the files it writes ("train"/"eval" splits of generated rows), not scored sets
    allowed = {"scored_sets.py", "generate.py"}
    for folder in ("harness", "fixtures"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            if path.name in allowed or "tests" in path.parts:
                continue
            offenders += [f"{path.relative_to(PROJECT_ROOT)}:{i}: {line.strip()}"
                          for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert not offenders, "\n".join(offenders)


def test_natural_test_half_is_read_only_through_the_scored_set_registry():
    """The natural test half (role report) is loaded in two places only: its registry entry (scoring) and the data
    gate that proves it shares no text with training; nothing that trains, tunes or fits a threshold reads it."""
    pattern = re.compile(r"""natural\.load\(\s*["']test["']|TEST_FILE\b""")
    readers = set()
    for folder in ("harness", "fixtures", "checks", "benchmarks"):
        for path in (PROJECT_ROOT / folder).rglob("*.py"):
            if "tests" not in path.parts and pattern.search(path.read_text()):
                readers.add(str(path.relative_to(PROJECT_ROOT)))
    assert readers == {"harness/data/scored_sets.py", "harness/data/natural.py", "checks/data/test_natural.py"}, readers
