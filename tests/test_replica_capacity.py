"""Replica capacity by request shape: the pure interpolation (known answers at the anchors, midway, clamped ends, a
monotone property), the shipped capacity file and its loader's errors, and ``endpoint_offer``
(docs/cost-model.md#replica-capacity-by-request-shape)."""

from __future__ import annotations

import dataclasses
import math
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines.core.errors import ModeshiftError
from pipelines.core.home import Home
from pipelines.core.settings import Settings, shipped_rate_card_path, shipped_replica_capacity_path
from pipelines.domain.cost_model import DedicatedOffer
from pipelines.domain.request_shape import ShapeAnchor, capacity_for_shape, sorted_anchors
from pipelines.lake.rate_card import ModelTerms, load_rate_card, model_terms
from pipelines.lake.replica_capacity import endpoint_offer, load_replica_capacity

MODEL_8B = "meta-llama/Meta-Llama-3.1-8B-Instruct-Turbo"
MODEL_70B = "meta-llama/Llama-3.3-70B-Instruct-Turbo"
MODEL_405B = "meta-llama/Meta-Llama-3.1-405B-Instruct-Turbo"
HEADER = (
    "model,gpu_type,gpus_per_replica,shape,input_tokens,output_tokens,replica_capacity_tps,source,as_of\n"
)

# Three anchors at sequence lengths 100, 1,000 and 10,000 tokens: one decade apart, so midway in log length is
# 316.2... and 3,162.2... tokens.
ANCHORS = (
    ShapeAnchor("short", 50, 50, 9_000.0),
    ShapeAnchor("mid", 500, 500, 5_000.0),
    ShapeAnchor("long", 9_000, 1_000, 1_000.0),
)


# ------------------------------------------------------------------------------------------- the interpolation


@pytest.mark.parametrize(("anchor"), ANCHORS, ids=lambda a: a.shape)
def test_an_anchor_s_own_shape_gives_its_capacity_exactly(anchor: ShapeAnchor) -> None:
    assert capacity_for_shape(ANCHORS, anchor.input_tokens, anchor.output_tokens) == (
        anchor.capacity_tps,
        f"at the {anchor.shape} anchor",
    )
    # the same length split differently between input and output is the same point
    tps, where = capacity_for_shape(ANCHORS, anchor.sequence_tokens, 0)
    assert tps == anchor.capacity_tps and where == f"at the {anchor.shape} anchor"


def test_midway_in_log_length_is_the_mean_of_the_two_anchors() -> None:
    midway = math.sqrt(100 * 1_000)  # 316.23 tokens: t = 1/2
    tps, where = capacity_for_shape(ANCHORS, midway - 16.0, 16.0)
    assert tps == pytest.approx((9_000 + 5_000) / 2, rel=1e-12)
    assert where == "between the short and mid anchors"
    tps, where = capacity_for_shape(ANCHORS, math.sqrt(1_000 * 10_000), 0)
    assert tps == pytest.approx(3_000.0, rel=1e-12) and where == "between the mid and long anchors"
    # a quarter of the way: 100 · 10^(1/4) = 177.8 tokens → 9,000 − 0.25 · 4,000 = 8,000
    assert capacity_for_shape(ANCHORS, 100 * 10**0.25, 0)[0] == pytest.approx(8_000.0, rel=1e-12)


def test_beyond_the_anchors_the_capacity_is_clamped_not_extrapolated() -> None:
    assert capacity_for_shape(ANCHORS, 10, 5) == (9_000.0, "below the short anchor, clamped to it")
    assert capacity_for_shape(ANCHORS, 120_000, 4_000) == (1_000.0, "beyond the long anchor, clamped to it")
    single = (ShapeAnchor("only", 1_000, 200, 7_777.0),)
    assert capacity_for_shape(single, 1, 1)[0] == capacity_for_shape(single, 1e6, 1)[0] == 7_777.0


def test_the_anchor_order_in_the_file_does_not_matter() -> None:
    shuffled = (ANCHORS[2], ANCHORS[0], ANCHORS[1])
    assert sorted_anchors(shuffled) == ANCHORS
    assert capacity_for_shape(shuffled, 300, 100) == capacity_for_shape(ANCHORS, 300, 100)


@pytest.mark.parametrize(
    ("anchors", "message"),
    [
        ((), "at least one anchor"),
        ((ANCHORS[0], dataclasses.replace(ANCHORS[1], shape="short")), "distinct"),
        ((ANCHORS[1], ShapeAnchor("same", 900, 100, 4_000.0)), "same sequence length"),
        ((ANCHORS[0], dataclasses.replace(ANCHORS[1], capacity_tps=9_500.0)), "may not grow"),
    ],
)
def test_anchors_that_break_the_rules_are_refused(anchors: tuple[ShapeAnchor, ...], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        capacity_for_shape(anchors, 100, 100)


@pytest.mark.parametrize(("tokens_in", "tokens_out"), [(-1, 10), (0, 0), (math.nan, 10), (10, math.inf)])
def test_a_shape_without_tokens_is_refused(tokens_in: float, tokens_out: float) -> None:
    with pytest.raises(ValueError, match="token counts"):
        capacity_for_shape(ANCHORS, tokens_in, tokens_out)


def test_an_anchor_needs_tokens_and_capacity() -> None:
    with pytest.raises(ValueError, match="no tokens"):
        ShapeAnchor("empty", 0, 0, 10.0)
    with pytest.raises(ValueError, match="capacity_tps"):
        ShapeAnchor("zero", 10, 10, 0.0)
    with pytest.raises(ValueError, match="input_tokens"):
        ShapeAnchor("negative", -5, 10, 10.0)


tokens = st.floats(min_value=0, max_value=200_000, allow_nan=False)


@settings(max_examples=300, deadline=None)
@given(
    tokens_in=tokens,
    more_in=st.floats(min_value=0, max_value=200_000, allow_nan=False),
    tokens_out=st.floats(min_value=1, max_value=20_000, allow_nan=False),
    which=st.sampled_from([MODEL_8B, MODEL_70B, MODEL_405B, "synthetic"]),
)
def test_capacity_never_increases_as_prompts_get_longer(
    tokens_in: float, more_in: float, tokens_out: float, which: str
) -> None:
    anchors = ANCHORS if which == "synthetic" else _shipped_anchors(which)
    shorter, _ = capacity_for_shape(anchors, tokens_in, tokens_out)
    longer, _ = capacity_for_shape(anchors, tokens_in + more_in, tokens_out)
    assert longer <= shorter
    lowest, highest = anchors[-1].capacity_tps, anchors[0].capacity_tps
    assert lowest <= longer <= shorter <= highest


# --------------------------------------------------------------------------------------- the shipped capacity file


def _shipped_anchors(model: str) -> tuple[ShapeAnchor, ...]:
    table = load_replica_capacity(shipped_replica_capacity_path())
    return next(anchors for key, anchors in table.anchors.items() if key[0] == model)


def test_the_shipped_file_converts_the_cited_output_rates_with_the_card_s_output_weight() -> None:
    table = load_replica_capacity(shipped_replica_capacity_path())
    card = load_rate_card(shipped_rate_card_path())
    # (output tokens/s read from the cited benchmark table, for short_chat, balanced, long_context)
    cited = {
        MODEL_8B: (28_312, 15_220, 3_459),
        MODEL_70B: (6_378, 4_205, 898),
        MODEL_405B: (3_627, 2_919, 610),
    }
    terms = model_terms(card, date(2026, 11, 2))
    for model, output_rates in cited.items():
        offer = terms[model].offer
        assert offer is not None
        anchors = table.anchors[(model, offer.gpu_type, offer.gpus_per_replica)]
        assert [a.shape for a in anchors] == ["short_chat", "balanced", "long_context"]
        w = card.filter(card["model"] == model)["output_weight"].unique().to_list()
        assert w == [6.0]
        for anchor, rate in zip(anchors, output_rates, strict=True):
            expected = rate * (anchor.input_tokens / anchor.output_tokens + w[0])
            assert anchor.capacity_tps == round(expected)
    text = shipped_replica_capacity_path().read_text(encoding="utf-8")
    rows = text.strip().splitlines()[1:]
    assert len(rows) == 9
    assert all("an assumption until calibrated" in row and "TensorRT-LLM" in row for row in rows)
    assert all(row.endswith(",2026-11-01") for row in rows)


def test_the_8b_spread_from_short_chat_to_long_context() -> None:
    anchors = _shipped_anchors(MODEL_8B)
    # 8.2x in output tokens/s (28,312 / 3,459), 3.6x in weighted tokens/s (long prompts count their input)
    assert anchors[0].capacity_tps / anchors[-1].capacity_tps == pytest.approx(198_184 / 55_344)


# -------------------------------------------------------------------------------------------------- the loader


def _file(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "capacity.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


ROW = "m,H100-80GB,1,{shape},{i},{o},{k},benchmark x,2026-11-01\n"


@pytest.mark.parametrize(
    ("header", "body", "expected"),
    [
        (HEADER.replace(",as_of", ""), "m,H100-80GB,1,a,1,1,5,x\n", "missing as_of"),
        (HEADER, "m,H100-80GB,1,a,1,1,many,x,2026-11-01\n", "cannot be read"),
        (HEADER, "m,H100-80GB,1,a,1,1,5,,2026-11-01\n", "has rows without source"),
        (HEADER, "m,H100-80GB,0,a,1,1,5,x,2026-11-01\n", "gpus_per_replica below 1"),
        (
            HEADER,
            ROW.format(shape="a", i=1, o=1, k=0),
            "m on 1×H100-80GB: capacity_tps of the a anchor must be > 0",
        ),
        (
            HEADER,
            ROW.format(shape="a", i=100, o=100, k=10) + ROW.format(shape="b", i=1000, o=100, k=20),
            "m on 1×H100-80GB: the b anchor (1,100 tokens a request) has more capacity",
        ),
    ],
)
def test_a_bad_capacity_file_is_a_clear_error(tmp_path: Path, header: str, body: str, expected: str) -> None:
    path = _file(tmp_path, body, header)
    with pytest.raises(ModeshiftError) as raised:
        load_replica_capacity(path)
    assert f"The replica capacity file {path}" in str(raised.value)
    assert expected in str(raised.value)


def test_the_settings_point_at_the_user_s_own_file(home: Home, tmp_path: Path) -> None:
    assert Settings.load(home).replica_capacity_path == shipped_replica_capacity_path()
    path = _file(tmp_path, ROW.format(shape="a", i=100, o=100, k=10))
    home.config_file.write_text(f"replica_capacity: {path}\n", encoding="utf-8")
    assert Settings.load(home).replica_capacity_path == path
    home.config_file.write_text(f"replica_capacity: {tmp_path / 'nope.csv'}\n", encoding="utf-8")
    with pytest.raises(ModeshiftError, match="The replica capacity file .* does not exist"):
        Settings.load(home)


# ------------------------------------------------------------------------------------------------ endpoint_offer


def _terms(model: str | None = "m", gpus: int = 1) -> ModelTerms:
    return ModelTerms(DedicatedOffer("H100-80GB", gpus, 3.99, 2_000.0), 0.5, model=model)


def test_endpoint_offer_replaces_k_by_the_shape_s_capacity(tmp_path: Path) -> None:
    body = "".join(
        ROW.format(shape=a.shape, i=a.input_tokens, o=a.output_tokens, k=a.capacity_tps) for a in ANCHORS
    )
    table = load_replica_capacity(_file(tmp_path, body))
    offer, sentence = endpoint_offer(_terms(), table, 500, 500)
    assert offer == DedicatedOffer("H100-80GB", 1, 3.99, 5_000.0)  # only K changed
    assert sentence == (
        "replica capacity 5,000 weighted tokens/s for requests of ~500 in / 500 out tokens (at the mid anchor of "
        "capacity.csv; an assumption until calibrated)"
    )
    offer, sentence = endpoint_offer(_terms(), table, math.sqrt(100 * 1_000) - 16, 16)
    assert offer is not None and offer.replica_capacity_tps == pytest.approx(7_000.0)
    assert "(between the short and mid anchors of capacity.csv; an assumption until calibrated)" in sentence
    offer, sentence = endpoint_offer(_terms(), table, 20, 10)
    assert offer is not None and offer.replica_capacity_tps == 9_000.0
    assert (
        "(below the short anchor of capacity.csv, clamped to it; an assumption until calibrated)" in sentence
    )


def test_endpoint_offer_keeps_the_card_s_k_without_rows_or_shape(tmp_path: Path) -> None:
    table = load_replica_capacity(_file(tmp_path, ROW.format(shape="a", i=100, o=100, k=10)))
    for terms, shape, why in (
        (
            _terms("other"),
            (100, 100),
            "capacity.csv has no capacity by request shape for this model on 1×H100-80GB",
        ),
        (
            _terms(gpus=2),
            (100, 100),
            "capacity.csv has no capacity by request shape for this model on 2×H100-80GB",
        ),
        (_terms(None), (100, 100), "capacity.csv has no capacity by request shape"),
        (_terms(), (None, 100), "the endpoint's request shape is unknown"),
        (_terms(), (100, None), "the endpoint's request shape is unknown"),
        (_terms(), (0, 0), "the endpoint's request shape is unknown"),
        (_terms(), (math.nan, 5), "the endpoint's request shape is unknown"),
    ):
        offer, sentence = endpoint_offer(terms, table, *shape)
        assert offer == terms.offer
        assert sentence.startswith("replica capacity 2,000 weighted tokens/s from the rate card (")
        assert why in sentence and sentence.endswith("an assumption until calibrated)")
    assert endpoint_offer(ModelTerms(None, 0.5, model="m"), table, 100, 100) == (
        None,
        "no dedicated offer for this model on the rate card",
    )


def test_endpoint_offer_with_the_shipped_files() -> None:
    terms = model_terms(load_rate_card(shipped_rate_card_path()), date(2026, 11, 9))
    table = load_replica_capacity(shipped_replica_capacity_path())
    assert terms[MODEL_8B].model == MODEL_8B
    offer, sentence = endpoint_offer(terms[MODEL_8B], table, 900, 300)
    # L = 1,200: t = ln(1,200 / 256) / ln(2,000 / 256); K = 198,184 + t · (106,540 − 198,184)
    t = math.log(1_200 / 256) / math.log(2_000 / 256)
    assert offer is not None and offer.replica_capacity_tps == pytest.approx(
        198_184 + t * (106_540 - 198_184)
    )
    assert round(offer.replica_capacity_tps) == 129_313  # the worked example of docs/cost-model.md
    assert sentence == (
        "replica capacity 129,313 weighted tokens/s for requests of ~900 in / 300 out tokens (between the "
        "short_chat and balanced anchors of replica_capacity.csv; an assumption until calibrated)"
    )
    assert offer.usd_per_gpu_hour == 3.99 and offer.gpus_per_replica == 1
