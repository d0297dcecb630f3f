"""The documented prices (``mavi-api.md``), in one place, and what each job costs at them.

Endpoints whose price the docs do not give (get-metadata, delete, summary, clip, split, edit, video
embeddings) cost nothing in the emulator.
"""

from __future__ import annotations

FRAMES_USD_PER_SECOND = 0.01
AUDIO_USD_PER_SECOND = 0.001
AUDIO_SPEAKER_USD_PER_SECOND = 0.002
DIARIZATION_USD_PER_SECOND = 0.001
MULTI_SPEAKER_USD_PER_MINUTE = 0.1
ELEVENLABS_USD_PER_HOUR = 0.39
ASSEMBLYAI_USD_PER_HOUR = 0.15
TEXT_EMBEDDING_USD_PER_TOKEN = 0.0000002
DESCRIPTION_INPUT_USD_PER_TOKEN = 0.45 / 1_000_000
DESCRIPTION_OUTPUT_USD_PER_TOKEN = 3.75 / 1_000_000
DOWNLOAD_USD_PER_BYTE = 0.12 / 1_000_000_000

_M = 1_000_000
_K = 1_000
#: VLM prices per model (without the provider prefix): (tiers, per tokens), each tier
#: (up to this many input tokens, input price, output price); the last tier has no bound.
VLM_PRICES: dict[str, tuple[tuple[tuple[float, float, float], ...], int]] = {
    "gemini-3-pro-preview": (((200_000, 2, 12), (float("inf"), 4, 18)), _M),
    "gemini-2.5-pro": (((200_000, 1.25, 10), (float("inf"), 2.5, 15)), _M),
    "gemini-3-flash-preview": (((float("inf"), 0.5, 3),), _M),
    "gemini-2.5-flash": (((float("inf"), 0.30, 2.5),), _M),
    "gemini-2.5-flash-preview-09-2025": (((float("inf"), 0.30, 2.5),), _M),
    "gemini-2.0-flash": (((float("inf"), 0.1, 0.4),), _M),
    "gemini-2.5-flash-lite": (((float("inf"), 0.1, 0.4),), _M),
    "gemini-2.5-flash-lite-preview-09-2025": (((float("inf"), 0.1, 0.4),), _M),
    "gemini-2.0-flash-lite": (((float("inf"), 0.075, 0.3),), _M),
    "us.amazon.nova-premier-v1:0": (((float("inf"), 2.50, 12.50),), _M),
    "us.amazon.nova-pro-v1:0": (((float("inf"), 0.80, 3.20),), _M),
    "us.amazon.nova-2-lite-v1:0": (((float("inf"), 0.33, 2.75),), _M),
    "us.amazon.nova-lite-v1:0": (((float("inf"), 0.06, 0.24),), _M),
}
_QWEN_PLUS = (((32_000, 0.00021, 0.00168), (128_000, 0.00031, 0.00252), (float("inf"), 0.00063, 0.00503)), _K)
_QWEN_FLASH = (
    ((32_000, 0.000052, 0.00042), (128_000, 0.000079, 0.00063), (float("inf"), 0.000126, 0.00101)),
    _K,
)
for _name in ("qwen3-vl-plus", "qwen3-vl-plus-2025-12-19", "qwen3-vl-plus-2025-09-23"):
    VLM_PRICES[_name] = _QWEN_PLUS
for _name in ("qwen3-vl-flash", "qwen3-vl-flash-2025-10-15"):
    VLM_PRICES[_name] = _QWEN_FLASH
for _name in ("qwen-vl-max", "qwen-vl-max-latest", "qwen-vl-max-2025-08-13", "qwen-vl-max-2025-04-08"):
    VLM_PRICES[_name] = (((float("inf"), 0.00084, 0.00335),), _K)
for _name in (
    "qwen-vl-plus",
    "qwen-vl-plus-latest",
    "qwen-vl-plus-2025-08-15",
    "qwen-vl-plus-2025-05-07",
    "qwen-vl-plus-2025-01-25",
):
    VLM_PRICES[_name] = (((float("inf"), 0.00022, 0.00066),), _K)
#: The Nova curl sample's spelling (no ``us.``) is priced like the listed model.
VLM_PRICES["amazon.nova-lite-v1:0"] = VLM_PRICES["us.amazon.nova-lite-v1:0"]


def usd(value: float) -> float:
    """Round a price to micro-dollars, as the stats report it.

    :param value: dollars.
    """
    return round(value, 6)


def per_second(seconds: float | None, rate: float) -> float:
    """Return a per-second price for a media length (0 when the length is unknown).

    :param seconds: the media length.
    :param rate: dollars per second.
    """
    return usd((seconds or 0.0) * rate)


def vlm_cost(model: str, input_tokens: int, output_tokens: int) -> float:
    """Return the price of one VLM answer at the model's documented tier.

    :param model: the model name without its provider prefix.
    :param input_tokens: tokens read.
    :param output_tokens: tokens written.
    """
    tiers, per = VLM_PRICES[model]
    for bound, input_price, output_price in tiers:
        if input_tokens <= bound:
            return usd((input_tokens * input_price + output_tokens * output_price) / per)
    return 0.0  # pragma: no cover - the last tier is unbounded
