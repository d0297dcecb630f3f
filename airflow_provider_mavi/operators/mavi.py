"""The Mavi operators, one module each, importable from here (with the errors they raise)."""

from __future__ import annotations

from airflow_provider_mavi.exceptions import (
    MaviAssetFailedError,
    MaviBridgeNotConfiguredError,
    MaviJobFailedError,
    MaviJobTimeoutError,
    MaviOperatorError,
    MaviTriggerEventError,
    MaviWaitError,
)
from airflow_provider_mavi.operators.chat import MaviVideoChatOperator
from airflow_provider_mavi.operators.delete import MaviDeleteAssetOperator
from airflow_provider_mavi.operators.download import MaviDownloadAssetOperator
from airflow_provider_mavi.operators.embeddings import MaviEmbedTextOperator, MaviEmbedVideoOperator
from airflow_provider_mavi.operators.extract_frames import MaviExtractFramesOperator
from airflow_provider_mavi.operators.speech import MaviSpeechToTextOperator
from airflow_provider_mavi.operators.transcribe import MaviTranscribeVideoOperator
from airflow_provider_mavi.operators.upload import MaviUploadOperator

__all__ = [
    "MaviAssetFailedError",
    "MaviBridgeNotConfiguredError",
    "MaviDeleteAssetOperator",
    "MaviDownloadAssetOperator",
    "MaviEmbedTextOperator",
    "MaviEmbedVideoOperator",
    "MaviExtractFramesOperator",
    "MaviJobFailedError",
    "MaviJobTimeoutError",
    "MaviOperatorError",
    "MaviSpeechToTextOperator",
    "MaviTranscribeVideoOperator",
    "MaviTriggerEventError",
    "MaviUploadOperator",
    "MaviVideoChatOperator",
    "MaviWaitError",
]
