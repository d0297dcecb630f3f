"""Voice activity and speaker turns on synthetic signals with known speech and silence; the result shapes."""

from __future__ import annotations

import math
import random

import pytest

from airflow_provider_mavi.emulator import speech, transcripts
from airflow_provider_mavi.emulator.samples import make_sample_audio

RATE = 16000


def _signal(parts, noise_dbfs=-70.0, seed=1):
    """Build 16-bit samples from ``(seconds, hz or None, amplitude)`` parts, over a faint noise floor."""
    rng = random.Random(seed)
    floor = 32768 * 10 ** (noise_dbfs / 20)
    samples = []
    for seconds, hz, amplitude in parts:
        for n in range(round(seconds * RATE)):
            tone = amplitude * math.sin(2 * math.pi * hz * n / RATE) if hz else 0.0
            samples.append(int(tone + rng.gauss(0, floor)))
    return samples


def test_voice_activity_follows_the_signal():
    samples = _signal([(0.5, None, 0), (1.0, 300, 6000), (0.4, None, 0), (0.8, 1500, 3000), (0.3, None, 0)])
    result = speech.analyse_samples(samples)
    assert result.duration == pytest.approx(3.0)
    assert [(t.start, t.end) for t in result.turns] == [(0.5, 1.5), (1.9, 2.7)]
    assert [t.speaker for t in result.turns] == [0, 1]  # 300 Hz and 1500 Hz are two clusters
    assert result.speakers == 2
    assert result.voiced_seconds == pytest.approx(1.8)
    assert all(t.voiced_share == 1.0 for t in result.turns)
    assert result.turns[0].level_dbfs == pytest.approx(20 * math.log10(6000 / math.sqrt(2) / 32768), abs=0.5)
    assert len(result.levels) == 150  # 20 ms frames


def test_short_gaps_close_and_short_blips_drop():
    samples = _signal(
        [
            (0.3, None, 0),
            (0.5, 400, 5000),
            (0.1, None, 0),
            (0.5, 400, 5000),
            (0.5, None, 0),
            (0.06, 400, 5000),
            (0.4, None, 0),
        ]
    )
    turns = speech.analyse_samples(samples).turns
    assert [(t.start, t.end, t.speaker) for t in turns] == [
        (0.3, 1.4, 0)
    ]  # 100 ms gap closed, 60 ms blip dropped


def test_a_speaker_change_without_silence_splits_the_turn():
    turns = speech.analyse_samples(_signal([(1.0, 220, 6000), (1.0, 880, 6000)])).turns
    assert [(t.start, t.end, t.speaker) for t in turns] == [(0.0, 1.0, 0), (1.0, 2.0, 1)]


def test_silence_and_noise_have_no_turns():
    assert speech.analyse_samples(_signal([(1.0, None, 0)])).turns == []
    assert speech.analyse_samples([0] * RATE).turns == []
    assert speech.analyse_samples([]).turns == []


def test_quiet_speech_is_found_relative_to_the_recording():
    # -40 dBFS speech is above the -45 dBFS floor; a -75 dBFS hum is more than 30 dB below it.
    samples = _signal([(0.5, 120, 18), (0.5, 500, 330), (0.5, 120, 18)])
    assert [(t.start, t.end) for t in speech.analyse_samples(samples).turns] == [(0.5, 1.0)]


def test_cluster_labels_in_order_of_appearance():
    assert speech.cluster([(8.0, 8.0), (10.0, 10.0), (8.1, 8.0), (12.0, 12.0), (10.2, 9.9)]) == [
        0,
        1,
        0,
        2,
        1,
    ]
    assert speech.cluster([]) == []


def test_the_sample_audio_pattern(tmp_path):
    path = make_sample_audio(tmp_path / "a.m4a", seconds=12)
    result = speech.analyse_file(path)
    assert [(t.start, t.end, t.speaker) for t in result.turns] == [
        (0.0, 1.5, 0),
        (2.0, 3.5, 1),
        (4.0, 5.5, 0),
        (6.0, 7.5, 0),
        (8.0, 9.5, 1),
        (10.0, 11.5, 0),
    ]


def test_result_shapes():
    result = speech.analyse_samples(_signal([(1.0, 220, 6000), (0.5, None, 0), (1.0, 880, 6000)]))
    assert transcripts.whisper_items(result, False, callback=False) == [
        {"text": "[speech 1.0 s]", "start_time": 0.0, "end_time": 1.0},
        {"text": "[speech 1.0 s]", "start_time": 1.5, "end_time": 2.5},
    ]
    assert [i["speaker"] for i in transcripts.whisper_items(result, False, callback=True)] == [None, None]
    assert [i["speaker"] for i in transcripts.whisper_items(result, True, callback=False)] == [
        "SPEAKER_00",
        "SPEAKER_01",
    ]
    assert transcripts.pyannote_items(result)[1] == {"start": 1.5, "end": 2.5, "speaker": "SPEAKER_01"}
    assert transcripts.whisper_items(None, True, callback=True) == []
    eleven = transcripts.elevenlabs(result.turns, language_code=None, diarize=True, granularity="word")
    assert [w["type"] for w in eleven["words"]] == ["word", "spacing", "word"]
    assert eleven["words"][1] == {"text": " ", "start": 1.0, "end": 1.5, "type": "spacing"}
    assembly = transcripts.assemblyai(
        result.turns,
        transcript_id="x",
        audio_url="u",
        audio_seconds=2.5,
        language_code=None,
        speaker_labels=True,
    )
    assert [(w["start"], w["end"], w["speaker"]) for w in assembly["words"]] == [
        (0, 1000, "A"),
        (1500, 2500, "B"),
    ]
    assert assembly["audio_duration"] == 2  # whole seconds (round half to even)
    assert [t.start for t in transcripts.trimmed(result.turns, 0.5, 2.0)] == [0.5, 1.5]
