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
from airflow_provider_mavi.operators.audio import MaviTranscribeAudioOperator
from airflow_provider_mavi.operators.chat import MaviVideoChatOperator
from airflow_provider_mavi.operators.delete import MaviDeleteAssetOperator
from airflow_provider_mavi.operators.download import MaviDownloadAssetOperator
from airflow_provider_mavi.operators.embeddings import MaviEmbedTextOperator, MaviEmbedVideoOperator
from airflow_provider_mavi.operators.extract_frames import MaviExtractFramesOperator
from airflow_provider_mavi.operators.speakers import (
    MaviRecognizeSpeakersOperator,
    MaviSpeakerDiarizationOperator,
)
from airflow_provider_mavi.operators.speech import MaviSpeechToTextOperator
from airflow_provider_mavi.operators.summary import MaviSummarizeVideoOperator
from airflow_provider_mavi.operators.transcribe import MaviTranscribeVideoOperator
from airflow_provider_mavi.operators.upload import MaviUploadOperator
from airflow_provider_mavi.operators.video_jobs import (
    MaviDetectScenesOperator,
    MaviEditVideoOperator,
    MaviSplitVideoOperator,
)

__all__ = [
    "MaviAssetFailedError",
    "MaviBridgeNotConfiguredError",
    "MaviDeleteAssetOperator",
    "MaviDetectScenesOperator",
    "MaviDownloadAssetOperator",
    "MaviEditVideoOperator",
    "MaviEmbedTextOperator",
    "MaviEmbedVideoOperator",
    "MaviExtractFramesOperator",
    "MaviJobFailedError",
    "MaviJobTimeoutError",
    "MaviOperatorError",
    "MaviRecognizeSpeakersOperator",
    "MaviSpeakerDiarizationOperator",
    "MaviSpeechToTextOperator",
    "MaviSplitVideoOperator",
    "MaviSummarizeVideoOperator",
    "MaviTranscribeAudioOperator",
    "MaviTranscribeVideoOperator",
    "MaviTriggerEventError",
    "MaviUploadOperator",
    "MaviVideoChatOperator",
    "MaviWaitError",
]
