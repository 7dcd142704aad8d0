"""Pandera schemas for the dataset contract: one ``DataFrameModel`` per kind of file.

A dataset folder holds ``dating_pairs.jsonl`` (train), ``eval_pairs.jsonl`` (eval) and optionally
``ood_pairs.jsonl`` (out-of-distribution, natural phrasing). Train and eval rows share
``PairSchema``; OOD rows use ``OODPairSchema``. The frames these schemas validate are indexed by the
1-based line number of the row in its file, so every failure case points at ``file:line``.

The Python types that a raw JSON value must have before it enters a frame (``FIELD_TYPES``) live
here too, so the loader and the schemas speak from one table.
"""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

#: Pair types the generator and the reference data use; anything else is a typo or a new type
#: that must be added here on purpose.
PAIR_TYPES: tuple[str, ...] = (
    "compatible",
    "incompatible",
    "dealbreaker",
    "subtle_mismatch",
    "complex_compatible",
    "complex_incompatible",
    "llm_judged_compatible",
    "llm_judged_incompatible",
    "curated_realistic",
)

#: Pair types whose label is fixed by construction (used by the distribution gate).
FIXED_LABEL_PAIR_TYPES: dict[str, int] = {
    "compatible": 1,
    "incompatible": 0,
    "dealbreaker": 0,
    "complex_compatible": 1,
    "complex_incompatible": 0,
    "llm_judged_compatible": 1,
    "llm_judged_incompatible": 0,
}

#: ``boy:`` or ``girl:``, one space, then a non-blank statement.
PREFIX_PATTERN = r"^(boy|girl): [A-Za-z0-9].*$"
#: OOD text is natural phrasing: it must not carry the synthetic speaker prefix.
NO_PREFIX_PATTERN = r"^(?!(boy|girl):)[A-Za-z0-9].*$"

PAIR_FIELDS: tuple[str, ...] = ("text_1", "text_2", "label", "category", "subcategory", "pair_type")
OOD_REQUIRED: tuple[str, ...] = ("text_1", "text_2", "label")
OOD_OPTIONAL: tuple[str, ...] = ("bucket", "category", "subcategory", "pair_type")

#: The JSON type each field must have, checked per value before a frame is built
#: (``"1"``, ``1.0`` and ``true`` are not labels).
FIELD_TYPES: dict[str, type] = {
    "text_1": str,
    "text_2": str,
    "label": int,
    "category": str,
    "subcategory": str,
    "pair_type": str,
    "bucket": str,
    "topic": str,
    "anchor": str,
    "positive": str,
    "negative": str,
    "family": str,
    "writer": str,
}


class PairSchema(pa.DataFrameModel):
    """A train or eval row: two prefixed statements, a binary label and its provenance."""

    text_1: Series[str] = pa.Field(str_matches=PREFIX_PATTERN, str_length={"min_value": 7, "max_value": 400})
    text_2: Series[str] = pa.Field(str_matches=PREFIX_PATTERN, str_length={"min_value": 7, "max_value": 400})
    label: Series[int] = pa.Field(isin=[0, 1])
    category: Series[str] = pa.Field(str_matches=r"^[a-z][a-z_]*$")
    subcategory: Series[str] = pa.Field(str_matches=r"^\S.*$")
    pair_type: Series[str] = pa.Field(isin=list(PAIR_TYPES))

    class Config:
        strict = False  # later stages may add provenance columns (source, id)
        coerce = False


class OODPairSchema(pa.DataFrameModel):
    """An out-of-distribution row: natural phrasing without a speaker prefix, optional bucket."""

    text_1: Series[str] = pa.Field(str_matches=NO_PREFIX_PATTERN, str_length={"min_value": 2, "max_value": 400})
    text_2: Series[str] = pa.Field(str_matches=NO_PREFIX_PATTERN, str_length={"min_value": 2, "max_value": 400})
    label: Series[int] = pa.Field(isin=[0, 1])
    bucket: Series[str] | None = pa.Field(str_matches=r"^[a-z][a-z_]*$")

    class Config:
        strict = False
        coerce = False


#: Buckets of the hand-written natural-language benchmark (data/natural/README.md); "ambiguous" is never gated.
NATURAL_BUCKETS: tuple[str, ...] = ("paraphrase_compatible", "complementary_compatible", "topical_incompatible",
                                    "dealbreaker", "ambiguous")
NATURAL_REQUIRED: tuple[str, ...] = ("text_1", "text_2", "label", "bucket", "topic", "family", "writer")
TRIPLET_REQUIRED: tuple[str, ...] = ("anchor", "positive", "negative", "topic", "family", "writer")
#: Topic families of the hand-written data (issue #19): what people match and mismatch on beyond hobbies. Every
#: natural pair and triplet carries one; the per-family AUC shows a model's blind spots.
FAMILIES: tuple[str, ...] = ("lifestyle", "relationship_goals", "communication", "privacy_social", "ambition_work",
                             "family", "money", "values_habits")
#: A writer id: the persona who wrote the row (style briefs in data/WRITERS.md).
WRITER_PATTERN = r"^[a-z][a-z0-9-]*$"


class NaturalPairSchema(pa.DataFrameModel):
    """A natural-language benchmark row: prefix-free text as people write it, its bucket and topic."""

    text_1: Series[str] = pa.Field(str_matches=NO_PREFIX_PATTERN, str_length={"min_value": 2, "max_value": 400})
    text_2: Series[str] = pa.Field(str_matches=NO_PREFIX_PATTERN, str_length={"min_value": 2, "max_value": 400})
    label: Series[int] = pa.Field(isin=[0, 1])
    bucket: Series[str] = pa.Field(isin=list(NATURAL_BUCKETS))
    topic: Series[str] = pa.Field(str_matches=r"^[a-z][a-z_ /-]*$")
    family: Series[str] = pa.Field(isin=list(FAMILIES))
    writer: Series[str] = pa.Field(str_matches=WRITER_PATTERN)

    @pa.dataframe_check(error="a bucket's label contradicts it (compatible buckets are 1, incompatible ones 0)")
    def bucket_fixes_label(cls, frame):
        fixed = frame["bucket"].map({"paraphrase_compatible": 1, "complementary_compatible": 1,
                                     "topical_incompatible": 0, "dealbreaker": 0})
        return fixed.isna() | (fixed == frame["label"])

    class Config:
        strict = False
        coerce = False


class StanceTripletSchema(pa.DataFrameModel):
    """A hand-written stance triplet (``data/natural_train``): an anchor, a positive with the same stance in other
    words, and a negative on the same topic with the opposite stance."""

    anchor: Series[str] = pa.Field(str_matches=NO_PREFIX_PATTERN, str_length={"min_value": 2, "max_value": 400})
    positive: Series[str] = pa.Field(str_matches=NO_PREFIX_PATTERN, str_length={"min_value": 2, "max_value": 400})
    negative: Series[str] = pa.Field(str_matches=NO_PREFIX_PATTERN, str_length={"min_value": 2, "max_value": 400})
    topic: Series[str] = pa.Field(str_matches=r"^[a-z][a-z_ /-]*$")
    family: Series[str] = pa.Field(isin=list(FAMILIES))
    writer: Series[str] = pa.Field(str_matches=WRITER_PATTERN)

    @pa.dataframe_check(error="anchor, positive and negative must be three different texts")
    def three_texts(cls, frame):
        return (frame["anchor"] != frame["positive"]) & (frame["anchor"] != frame["negative"]) & (frame["positive"] != frame["negative"])

    class Config:
        strict = False
        coerce = False


#: Which schema validates which file of a dataset folder.
SCHEMA_FOR_FILE: dict[str, type[pa.DataFrameModel]] = {
    "dating_pairs.jsonl": PairSchema,
    "eval_pairs.jsonl": PairSchema,
    "ood_pairs.jsonl": OODPairSchema,
}


def required_fields(schema: type[pa.DataFrameModel]) -> tuple[str, ...]:
    """The fields every row of a file validated by ``schema`` must carry."""
    return {OODPairSchema: OOD_REQUIRED, NaturalPairSchema: NATURAL_REQUIRED,
            StanceTripletSchema: TRIPLET_REQUIRED}.get(schema, PAIR_FIELDS)
