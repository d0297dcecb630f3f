"""The VLM models of ``/vu/chat/completions`` and their token prices (``mavi-api.md`` §12.9's table).

A model is named ``<provider>:<model>`` (the prefix is required). Prices are per million tokens; Qwen's
per-1K prices are multiplied by 1,000. Tiered prices pick their tier from the input tokens, with "K" read as
1,000 tokens (the docs do not say; only calls between 32,000 and 32,768 input tokens could differ).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_mavi.results.prices import PerToken, TieredPerToken, TokenTier, Unknown

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_mavi.results.prices import Price, Usage

__all__ = ["VLM_MODEL_PRICES", "VLM_PRICE", "VLM_PROVIDERS", "PerModel", "split_model", "vlm_price"]

#: The provider prefixes Mavi documents for ``/vu/chat/completions``.
VLM_PROVIDERS: tuple[str, ...] = ("gemini", "qwen", "nova")


def _gemini_tiers(low: tuple[float, float], high: tuple[float, float]) -> TieredPerToken:
    return TieredPerToken((TokenTier(200_000, *low), TokenTier(None, *high)))


def _qwen_tiers(*per_1k: tuple[float, float]) -> TieredPerToken:
    bounds = (32_000, 128_000, 256_000)
    return TieredPerToken(
        tuple(TokenTier(b, i * 1000, o * 1000) for b, (i, o) in zip(bounds, per_1k, strict=True))
    )


def _same(price: Price, *names: str) -> dict[str, Price]:
    return dict.fromkeys(names, price)


_QWEN3_VL_PLUS = _qwen_tiers((0.00021, 0.00168), (0.00031, 0.00252), (0.00063, 0.00503))
_QWEN3_VL_FLASH = _qwen_tiers((0.000052, 0.00042), (0.000079, 0.00063), (0.000126, 0.00101))

#: Price of every model in the table, by its full ``provider:model`` name.
VLM_MODEL_PRICES: Mapping[str, Price] = {
    "gemini:gemini-3-pro-preview": _gemini_tiers((2, 12), (4, 18)),
    "gemini:gemini-2.5-pro": _gemini_tiers((1.25, 10), (2.5, 15)),
    "gemini:gemini-3-flash-preview": PerToken(0.5, 3),
    **_same(PerToken(0.30, 2.5), "gemini:gemini-2.5-flash", "gemini:gemini-2.5-flash-preview-09-2025"),
    "gemini:gemini-2.0-flash": PerToken(0.1, 0.4),
    **_same(
        PerToken(0.1, 0.4), "gemini:gemini-2.5-flash-lite", "gemini:gemini-2.5-flash-lite-preview-09-2025"
    ),
    "gemini:gemini-2.0-flash-lite": PerToken(0.075, 0.3),
    **_same(
        _QWEN3_VL_PLUS, "qwen:qwen3-vl-plus", "qwen:qwen3-vl-plus-2025-12-19", "qwen:qwen3-vl-plus-2025-09-23"
    ),
    **_same(_QWEN3_VL_FLASH, "qwen:qwen3-vl-flash", "qwen:qwen3-vl-flash-2025-10-15"),
    **_same(
        PerToken(0.84, 3.35),
        "qwen:qwen-vl-max",
        "qwen:qwen-vl-max-latest",
        "qwen:qwen-vl-max-2025-08-13",
        "qwen:qwen-vl-max-2025-04-08",
    ),
    **_same(
        PerToken(0.22, 0.66),
        "qwen:qwen-vl-plus",
        "qwen:qwen-vl-plus-latest",
        "qwen:qwen-vl-plus-2025-08-15",
        "qwen:qwen-vl-plus-2025-05-07",
        "qwen:qwen-vl-plus-2025-01-25",
    ),
    "nova:us.amazon.nova-premier-v1:0": PerToken(2.50, 12.50),
    "nova:us.amazon.nova-pro-v1:0": PerToken(0.80, 3.20),
    "nova:us.amazon.nova-2-lite-v1:0": PerToken(0.33, 2.75),
    # The Nova page's own curl sample names the lite model without "us." (mavi-api.md §12.9).
    **_same(PerToken(0.06, 0.24), "nova:us.amazon.nova-lite-v1:0", "nova:amazon.nova-lite-v1:0"),
}

_BY_BARE_NAME: dict[str, Price] = {name.split(":", 1)[1]: price for name, price in VLM_MODEL_PRICES.items()}


def split_model(model: str) -> tuple[str | None, str]:
    """``(provider, name)`` of a model; the provider is None when the name has no known prefix.

    Nova names hold colons themselves (``us.amazon.nova-lite-v1:0``), so only a known prefix is split off.

    :param model: e.g. ``gemini:gemini-2.5-flash``, ``qwen3-vl-plus``.
    """
    head, sep, rest = model.partition(":")
    if sep and head in VLM_PROVIDERS:
        return head, rest
    return None, model


def vlm_price(model: str | None) -> Price:
    """The price rule of a model, by its full or bare name (answers name Qwen models without the prefix);
    :class:`~airflow_provider_mavi.results.prices.Unknown` for a model outside the table.

    :param model: the model, e.g. ``gemini:gemini-2.5-flash`` or ``qwen3-vl-plus``; None when unknown.
    """
    if not model:
        return Unknown("the answer names no model")
    _, name = split_model(model)
    price = _BY_BARE_NAME.get(name)
    return price if price is not None else Unknown(f"{model} is not in mavi-api.md §12.9's price table")


@dataclass(frozen=True)
class PerModel:
    """The price rule of ``/vu/chat/completions``: the token price of ``usage.model``
    (:func:`vlm_price`); None for a model outside the table or unknown token counts."""

    def cost_usd(self, usage: Usage) -> float | None:
        """The price of the tokens used by ``usage.model``.

        :param usage: what the call used, with its model.
        """
        return vlm_price(usage.model).cost_usd(usage)


#: The catalogue's price rule for the VLM chat.
VLM_PRICE = PerModel()
