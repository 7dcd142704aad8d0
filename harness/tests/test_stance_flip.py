"""Programmatic stance flips (``harness.data.stance_flip``): the rules, their properties and the lexicon reader.

Properties (hypothesis): a flip never returns its input, is deterministic, keeps a capital first letter, and a
two-way lexicon swap undoes itself (``flip(flip(t)) == t``) on a one-clause text.
"""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.data import stance_flip
from harness.data.natural import content_words
from harness.data.schema import WRITER_PATTERN
from harness.data.stance_flip import LexiconError, build_flip_triplets, flip, load_lexicon

pytestmark = pytest.mark.unit

PROPERTY = settings(max_examples=150, deadline=None)
LEXICON = stance_flip.lexicon()
#: Neutral topic words that are in no lexicon entry and trigger no negation rule: the filler around a swap.
FILLER = sorted({w for w in ("coffee hiking weekend mountains dogs music jazz sushi travel sunday festivals camping "
                             "gardening podcasts yoga baking beaches trains novels museums cycling karaoke").split()
                 if not any(w in key.split() for key in LEXICON.entries)})
TWO_WAY = sorted(key for key, entry in LEXICON.entries.items() if entry.two_way)


@pytest.mark.parametrize("text, expected", [
    ("I love hiking with my dog", "I hate hiking with my dog"),
    ("Hiking is my favorite thing", "Hiking is my least favorite thing"),
    ("I'm into jazz and old records", "I'm not into jazz and old records"),
    ("I'm a night owl", "I'm an early riser"),                                     # the article follows the swap
    ("want kids someday for sure", "don't want kids someday for sure"),
    ("I like quiet evenings at home", "I don't like quiet evenings at home"),   # negation rule: I V -> I don't V
    ("I don't like loud bars", "I like loud bars"),                             # don't V -> V
    ("I'm not a big drinker", "I'm a big drinker"),
    ("I LOVE karaoke nights", "I HATE karaoke nights"),                          # case kept
    ("I love older people, I volunteer at a care home", "I hate older people"),  # the restating clause is cut
    ("Sharing our pics online? I'd be SO proud!", "Sharing our pics online? I'd be SO ashamed!"),  # question kept
    ("the more the merrier", "the fewer the better"),
])
def test_directional(text, expected):
    result = flip(text)
    assert result is not None and result.text == expected, (text, result)


@pytest.mark.parametrize("text", [
    "I love hiking and I love camping",              # two stance markers in one clause: one edit would contradict
    "if I'm on time, I feel late",                   # a subordinate clause is not the writer's stance
    "all the intoxication I need",                   # "I need" does not open its clause
    "Alcohol just isn't part of who I am anymore",   # deleting the negation would strand "anymore"
    "I grew up on a farm, the more the merrier",     # cut out of its text, "the fewer the better" has no topic
    "I'll eat every cookie you make",                # "I won't eat every cookie" denies "every", not the stance
    "coffee, hiking, jazz",                          # nothing to flip
    "",
])
def test_no_flip(text):
    assert flip(text) is None


def test_result_names_its_rule():
    result = flip("I love hiking with my dog")
    assert result.kind == "antonym" and result.rule.startswith("lexicon.tsv:") and "love -> hate" in result.rule
    negation = flip("I like quiet evenings at home")
    assert negation.kind == "negation" and negation.rule.startswith("negation:")


@PROPERTY
@given(st.text(alphabet=st.characters(codec="utf-8", categories=("L", "N", "P", "Zs")), max_size=80))
def test_never_the_input_and_deterministic(text):
    result = flip(text)
    assert result == flip(text)
    assert result is None or result.text != text


@st.composite
def swap_texts(draw):
    """A one-clause text around one two-way lexicon phrase: filler words before (maybe none) and after (at least two,
    so the text has a topic and three words), in lower case or with a capital first letter."""
    key = draw(st.sampled_from(TWO_WAY))
    before = draw(st.lists(st.sampled_from(FILLER), max_size=3))
    after = draw(st.lists(st.sampled_from(FILLER), min_size=2, max_size=3))
    text = " ".join([*before, LEXICON.entries[key].source, *after])
    if draw(st.booleans()):
        text = text[0].upper() + text[1:]
    return key, text


@PROPERTY
@given(swap_texts())
def test_two_way_swap_undoes_itself(case):
    key, text = case
    entry = LEXICON.entries[key]
    once = flip(text)
    assert once is not None and once.rule == entry.rule, (text, once)
    twice = flip(once.text)
    assert twice is not None and twice.text == text, (text, once.text, twice)


@PROPERTY
@given(swap_texts())
def test_leading_capital_is_kept(case):
    _, text = case
    result = flip(text)
    assert result is not None
    assert result.text[0].isupper() == text[0].isupper() or result.text.startswith("I"), (text, result.text)


@PROPERTY
@given(st.lists(st.sampled_from(FILLER + ["I", "love", "hate", "I'm", "not", "never", "always", "don't", "like",
                                          "but", ",", ".", "?", "a", "the", "best", "my", "can't", "stand"]),
                min_size=1, max_size=14))
def test_a_flip_is_a_real_text(words):
    """A flip of a text that starts with a letter or digit does too (the schema's rule), has three words or more and
    keeps a capital first letter."""
    text = " ".join(words).replace(" ,", ",").replace(" .", ".").replace(" ?", "?")
    result = flip(text)
    if result is not None:
        assert len(result.text.split()) >= 3, (text, result.text)
        assert result.text[:1].isalnum() or not text[:1].isalnum(), (text, result.text)
        if text[:1].isupper():
            assert result.text[:1].isupper(), (text, result.text)


def test_lexicon_is_big_and_every_kind_is_used():
    rows = {(e.line, e.kind) for e in LEXICON.entries.values()}
    assert len(rows) >= 80
    assert {kind for _, kind in rows} == set(stance_flip.KINDS)


@pytest.mark.parametrize("bad, message", [
    ("love\thate\tantonym", "expected 4 tab-separated fields"),
    ("love\thate\tsynonym\t<->", "kind 'synonym'"),
    ("love\thate\tantonym\t<-", "direction '<-'"),
    ("love\tLove\tantonym\t<->", "two different"),
    ("adore\tcan't stand\tantonym\t<->", "already rewrites by line 2"),  # 'can't stand' is line 2's reverse
])
def test_malformed_lexicon_row_names_file_and_line(tmp_path, bad, message):
    path = tmp_path / "lexicon.tsv"
    path.write_text("# from\tto\tkind\tdirection\nenjoy\tcan't stand\tantonym\t<->\n" + bad + "\n", encoding="utf-8")
    with pytest.raises(LexiconError) as err:
        load_lexicon(path)
    assert f"{path}:3" in str(err.value) and message in str(err.value)


def test_empty_or_unreadable_lexicon_is_a_clear_error(tmp_path):
    empty = tmp_path / "empty.tsv"
    empty.write_text("# only a comment\n", encoding="utf-8")
    with pytest.raises(LexiconError, match=str(empty)):
        load_lexicon(empty)
    with pytest.raises(LexiconError, match="missing.tsv"):
        load_lexicon(tmp_path / "missing.tsv")


def test_triplets_from_label_1_pairs_only_and_no_repeated_text():
    pairs = pd.DataFrame({
        "text_1": ["hiking every weekend", "quiet nights in", "loud bars please", "mountains forever", "dogs yes"],
        "text_2": ["I love hiking with my dog", "I love hiking with my dog too", "I love karaoke nights",
                   "I hate hiking with my dog", "coffee and jazz"],
        "label": [1, 1, 0, 1, 1],
        "topic": ["outdoors"] * 5, "family": ["lifestyle"] * 5,
    })
    frame = build_flip_triplets(pairs)
    # rows 1 and 4 flip into each other's text_2 (already present), row 3 is label 0, row 5 has nothing to flip
    assert list(frame["positive"]) == ["I love hiking with my dog too"]
    assert list(frame["negative"]) == ["I hate hiking with my dog too"]
    assert list(frame.columns) == list(stance_flip.COLUMNS)
    assert set(frame["writer"]) == {stance_flip.WRITER}
    assert pd.Series([stance_flip.WRITER]).str.fullmatch(WRITER_PATTERN).all()


def test_triplet_rows_are_what_flip_gives():
    pairs = pd.DataFrame({"text_1": ["dog person through and through"], "text_2": ["pups are the best people"],
                          "label": [1], "topic": ["pets"], "family": ["lifestyle"]})
    row = build_flip_triplets(pairs).iloc[0]
    assert (row["anchor"], row["positive"], row["negative"]) == (
        "dog person through and through", "pups are the best people", "pups are the worst people")
    assert row["rule_kind"] == "antonym" and content_words(row["negative"])


def test_audit_sample_is_seeded_and_stable_when_rows_are_added():
    frame = pd.DataFrame({"anchor": [f"a{i}" for i in range(100)], "positive": [f"p{i}" for i in range(100)],
                          "negative": [f"n{i}" for i in range(100)]})
    sample = stance_flip.audit_sample(frame, size=10)
    assert list(sample.index) == sorted(sample.index) and len(sample) == 10
    assert sample.equals(stance_flip.audit_sample(frame, size=10))
    grown = pd.concat([frame.iloc[:1], pd.DataFrame({"anchor": ["new"], "positive": ["new"], "negative": ["new"]}),
                       frame.iloc[1:]], ignore_index=True)
    kept = set(stance_flip.audit_sample(grown, size=10)["anchor"])
    assert len(set(sample["anchor"]) & kept) >= 9  # one new row can displace at most one drawn row
    assert not sample.equals(stance_flip.audit_sample(frame, size=10, seed=stance_flip.AUDIT_SEED + 1))
