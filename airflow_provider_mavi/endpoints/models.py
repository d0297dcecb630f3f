"""The models and providers Mavi documents, per endpoint (``mavi-api.md`` §3.2, §3.3, §12.8 to §12.10).

The VLM models and their prices live in :mod:`airflow_provider_mavi.results.vlm_models` (the answer parser
prices by model); their provider prefixes are re-exported here.
"""

from __future__ import annotations

from airflow_provider_mavi.results.vlm_models import VLM_MODEL_PRICES, VLM_PROVIDERS

__all__ = [
    "AUDIO_MODEL",
    "DEFAULT_VIDEO_MODEL",
    "STT_PROVIDERS",
    "SUPPORTED_VIDEO_MODELS",
    "TEXT_EMBEDDING_MODEL",
    "VIDEO_EMBEDDING_MODEL",
    "VLM_MODEL_PRICES",
    "VLM_PROVIDERS",
    "check_video_model",
]

#: The models Mavi documents for video description (§3.2).
SUPPORTED_VIDEO_MODELS: tuple[str, ...] = (
    "gemini-2.5-flash-lite",
    "gemini-2.5-flash",
    "gemini-2.5-flash-preview-09-2025",
    "gemini-2.5-flash-lite-preview-09-2025",
)
DEFAULT_VIDEO_MODEL = "gemini-2.5-flash-lite"
#: The only model Mavi documents for Whisper audio transcription (§3.3).
AUDIO_MODEL = "whisper-1"
#: The speech-to-text providers (§12.8), the default first.
STT_PROVIDERS: tuple[str, ...] = ("elevenlabs", "assemblyai")
#: The only model Mavi documents for video embeddings (§12.10).
VIDEO_EMBEDDING_MODEL = "multimodalembedding@001"
#: The only model Mavi documents for text embeddings (§12.10).
TEXT_EMBEDDING_MODEL = "gemini-embedding-001"


def check_video_model(model: str) -> str:
    """Return ``model`` if Mavi documents it for video description, else raise :class:`ValueError`.

    :param model: the model name.
    """
    if model not in SUPPORTED_VIDEO_MODELS:
        raise ValueError(
            f"Unsupported video description model {model!r}; "
            f"Mavi supports: {', '.join(SUPPORTED_VIDEO_MODELS)}."
        )
    return model
