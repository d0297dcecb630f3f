"""The price rules added for the v2 endpoints: tiers, per-second billing, per-model prices, and the reason
given whenever a price is unknown."""

from __future__ import annotations

import pytest

from airflow_provider_mavi.results import (
    VLM_MODEL_PRICES,
    PerMediaSecond,
    PerToken,
    TieredPerToken,
    TokenTier,
    Unknown,
    Usage,
    cost_and_note,
    vlm_price,
)
from airflow_provider_mavi.results.prices import (
    ASSEMBLYAI_PRICE,
    DIARIZATION_PRICE,
    ELEVENLABS_PRICE,
    SPEAKER_RECOGNITION_PRICE,
    TEXT_EMBEDDING_PRICE,
)
from airflow_provider_mavi.results.vlm_models import VLM_PRICE, split_model


def test_per_second_billing_counts_a_started_second() -> None:
    assert ELEVENLABS_PRICE.cost_usd(Usage(media_seconds=3600)) == 0.39
    assert ELEVENLABS_PRICE.cost_usd(Usage(media_seconds=1.01)) == round(2 * 0.39 / 3600, 6)
    assert ASSEMBLYAI_PRICE.cost_usd(Usage(media_seconds=7200)) == 0.3
    assert (
        PerMediaSecond(0.001).cost_usd(Usage(media_seconds=1.5)) == 0.0015
    )  # prorated unless billed per second


def test_the_other_media_prices() -> None:
    assert DIARIZATION_PRICE.cost_usd(Usage(media_seconds=60)) == 0.06
    assert SPEAKER_RECOGNITION_PRICE.cost_usd(Usage(media_seconds=60)) == 0.1  # $0.1 per minute
    assert SPEAKER_RECOGNITION_PRICE.cost_usd(Usage(media_seconds=30)) == 0.05
    assert TEXT_EMBEDDING_PRICE.cost_usd(Usage(prompt_tokens=1_000_000, output_tokens=0)) == 0.2
    assert TEXT_EMBEDDING_PRICE.cost_usd(Usage()) is None


def test_tiers_must_be_bounded_and_growing() -> None:
    with pytest.raises(ValueError, match="bounded"):
        TieredPerToken((TokenTier(None, 1, 1), TokenTier(10, 1, 1)))
    with pytest.raises(ValueError, match="grow"):
        TieredPerToken((TokenTier(10, 1, 1), TokenTier(5, 1, 1)))
    with pytest.raises(ValueError, match="bounded"):
        TieredPerToken(())
    rule = TieredPerToken((TokenTier(10, 1, 2), TokenTier(None, 3, 4)))
    assert rule.cost_usd(Usage(prompt_tokens=10, output_tokens=1)) == round((10 * 1 + 2) / 1e6, 6)
    assert rule.cost_usd(Usage(prompt_tokens=11, output_tokens=1)) == round((11 * 3 + 4) / 1e6, 6)
    assert rule.cost_usd(Usage(prompt_tokens=11)) is None


def test_cost_and_note_says_why_a_price_is_unknown() -> None:
    assert cost_and_note(PerToken(1, 1), Usage(prompt_tokens=1e6, output_tokens=0), "x") == (1.0, None)
    assert cost_and_note(PerToken(1, 1), Usage(), "no tokens reported") == (None, "no tokens reported")
    assert cost_and_note(Unknown("not documented"), Usage(media_seconds=5), "x") == (
        None,
        "Mavi publishes no price for this call (not documented)",
    )


#: Every model row of mavi-api.md §12.9's table, with its documented prices (per 1M; Qwen's per-1K x 1000).
DOCUMENTED = {
    "gemini:gemini-3-flash-preview": (0.5, 3),
    "gemini:gemini-2.5-flash": (0.30, 2.5),
    "gemini:gemini-2.5-flash-preview-09-2025": (0.30, 2.5),
    "gemini:gemini-2.0-flash": (0.1, 0.4),
    "gemini:gemini-2.5-flash-lite": (0.1, 0.4),
    "gemini:gemini-2.5-flash-lite-preview-09-2025": (0.1, 0.4),
    "gemini:gemini-2.0-flash-lite": (0.075, 0.3),
    "qwen:qwen-vl-max": (0.84, 3.35),
    "qwen:qwen-vl-max-latest": (0.84, 3.35),
    "qwen:qwen-vl-max-2025-08-13": (0.84, 3.35),
    "qwen:qwen-vl-max-2025-04-08": (0.84, 3.35),
    "qwen:qwen-vl-plus": (0.22, 0.66),
    "qwen:qwen-vl-plus-latest": (0.22, 0.66),
    "qwen:qwen-vl-plus-2025-08-15": (0.22, 0.66),
    "qwen:qwen-vl-plus-2025-05-07": (0.22, 0.66),
    "qwen:qwen-vl-plus-2025-01-25": (0.22, 0.66),
    "nova:us.amazon.nova-premier-v1:0": (2.50, 12.50),
    "nova:us.amazon.nova-pro-v1:0": (0.80, 3.20),
    "nova:us.amazon.nova-2-lite-v1:0": (0.33, 2.75),
    "nova:us.amazon.nova-lite-v1:0": (0.06, 0.24),
    "nova:amazon.nova-lite-v1:0": (0.06, 0.24),
}
TIERED = {
    "gemini:gemini-3-pro-preview": ((2, 12), (4, 18)),
    "gemini:gemini-2.5-pro": ((1.25, 10), (2.5, 15)),
    "qwen:qwen3-vl-plus": ((0.21, 1.68), (0.31, 2.52), (0.63, 5.03)),
    "qwen:qwen3-vl-plus-2025-12-19": ((0.21, 1.68), (0.31, 2.52), (0.63, 5.03)),
    "qwen:qwen3-vl-plus-2025-09-23": ((0.21, 1.68), (0.31, 2.52), (0.63, 5.03)),
    "qwen:qwen3-vl-flash": ((0.052, 0.42), (0.079, 0.63), (0.126, 1.01)),
    "qwen:qwen3-vl-flash-2025-10-15": ((0.052, 0.42), (0.079, 0.63), (0.126, 1.01)),
}


def test_the_vlm_table_is_mavi_api_md_s() -> None:
    assert set(VLM_MODEL_PRICES) == set(DOCUMENTED) | set(TIERED)
    for model, (usd_in, usd_out) in DOCUMENTED.items():
        assert VLM_MODEL_PRICES[model] == PerToken(usd_in, usd_out), model
    for model, tiers in TIERED.items():
        rule = VLM_MODEL_PRICES[model]
        assert isinstance(rule, TieredPerToken)
        got = [v for t in rule.tiers for v in (t.usd_per_million_input, t.usd_per_million_output)]
        assert got == pytest.approx([v for tier in tiers for v in tier]), model


def test_models_are_found_by_full_or_bare_name() -> None:
    assert split_model("nova:us.amazon.nova-lite-v1:0") == ("nova", "us.amazon.nova-lite-v1:0")
    assert split_model("us.amazon.nova-lite-v1:0") == (None, "us.amazon.nova-lite-v1:0")  # no known prefix
    assert vlm_price("qwen3-vl-plus") is VLM_MODEL_PRICES["qwen:qwen3-vl-plus"]
    assert isinstance(vlm_price("openai:gpt-5"), Unknown)
    assert isinstance(vlm_price(None), Unknown)
    usage = Usage(prompt_tokens=1_000_000, output_tokens=0, model="gemini:gemini-2.0-flash")
    assert VLM_PRICE.cost_usd(usage) == 0.1
