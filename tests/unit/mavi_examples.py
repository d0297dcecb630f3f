# ruff: noqa: E501  (the examples are copied verbatim: their lines stay as the document has them)
"""The examples of ``mavi-api.md`` (``../shared/mavi-api.md``), copied verbatim, as test fixtures.

Each ``*_TEXT`` string is a code block of the document, character for character (with the line it starts
on); the constant without ``_TEXT`` is its parsed JSON. The few shapes the document describes only in tables
(no example block) are at the end, assembled from those tables and marked so. Tests never change these
objects: they copy them first (``copy.deepcopy``).
"""

from __future__ import annotations

import json
from typing import Any


def _load(text: str) -> Any:
    return json.loads(text)


# §3.1 extract-frames callback; mavi-api.md line 138.
FRAMES_CALLBACK_TEXT = r"""{
  "code": 200,
  "message": "SUCCESS",
  "data": {
    "asset_id": "im_666914042514116608",
    "asset_ch_ids": ["imc_666914042514116608_0", "imc_666914042514116608_1"]
  },
  "task_id": "1e8ae1075e054e8abb58e7598c53cbf1"
}"""
FRAMES_CALLBACK = _load(FRAMES_CALLBACK_TEXT)

# §3.2 async video description callback; mavi-api.md line 159.
VIDEO_DESCRIPTION_CALLBACK_TEXT = r"""{
  "code": 200,
  "message": "SUCCESS",
  "data": {
    "data": {
      "data": [ {"start_time": 0.0, "end_time": 4.0, "transcript": "<visual description>"} ],
      "error_rate": 0.0,
      "usage_metadata": {"duration": 12.3, "model": "gemini-2.5-flash-lite",
                         "output_tokens": 512, "prompt_tokens": 9000}
    },
    "msg": "<detail>",
    "success": true
  },
  "task_id": "ec2449885ba84c4f943a80ff0633158e"
}"""
VIDEO_DESCRIPTION_CALLBACK = _load(VIDEO_DESCRIPTION_CALLBACK_TEXT)

# §3.3 async-generate-audio callback; mavi-api.md line 191.
AUDIO_CALLBACK_TEXT = r"""{
  "code": 200, "message": "SUCCESS",
  "data": {
    "data": {
      "data": [ {"start_time": 0.0, "end_time": 2.98, "text": "Hello, how are you today?", "speaker": null} ],
      "usage_metadata": {"duration": 13.1, "model": "whisper-1", "output_tokens": 0, "prompt_tokens": 0}
    },
    "msg": "<detail>", "success": true
  },
  "task_id": "ec2449885ba84c4f943a80ff0633158e"
}"""
AUDIO_CALLBACK = _load(AUDIO_CALLBACK_TEXT)

# §12.1 sync-generate-audio answer (oldest page, code "0000"); mavi-api.md line 390.
AUDIO_SYNC_ANSWER_TEXT = r"""{"code": "0000", "msg": "success",
 "data": {"model": "whisper-1",
          "items": [{"text": "Hello, how are you today?", "start_time": 0.0, "end_time": 2.98},
                    {"text": "I'm doing well, thank you.", "start_time": 2.98, "end_time": 6.78}]},
 "failed": false, "success": true}"""
AUDIO_SYNC_ANSWER = _load(AUDIO_SYNC_ANSWER_TEXT)

# §12.2 async-generate-speaker callback; mavi-api.md line 426.
SPEAKER_CALLBACK_TEXT = r"""{"code": 200, "message": "SUCCESS",
 "data": {"data": {"data": [{"start": 0.03, "end": 0.13, "speaker": "SPEAKER_01"},
                            {"start": 0.13, "end": 13.40, "speaker": "SPEAKER_00"}],
                   "usage_metadata": {"duration": 13.4, "model": "pyannote",
                                      "output_tokens": 0, "prompt_tokens": 0}},
          "msg": "<detail>", "success": true},
 "task_id": "ec2449885ba84c4f943a80ff0633158e"}"""
SPEAKER_CALLBACK = _load(SPEAKER_CALLBACK_TEXT)

# §12.3 async-generate-multi-speaker callback (usage_metadata is an array); mavi-api.md line 461.
MULTI_SPEAKER_CALLBACK_TEXT = r"""{"code": "0000", "message": "SUCCESS",
 "data": {"data": {"audio_transcription": [{"start_time": 0.0, "end_time": 4.2,
                                            "speaker": "<name>", "text": "<text>"}],
                   "faces": [{"face_id": "<id>", "name": "<name>", "face_file_protocol": "gs",
                              "face_file_bucket": "<bucket>", "face_file_blob": "<path>"}],
                   "usage_metadata": [{"duration": 12.3}]}},
 "task_id": "ec2449885ba84c4f943a80ff0633158e"}"""
MULTI_SPEAKER_CALLBACK = _load(MULTI_SPEAKER_CALLBACK_TEXT)

# §12.4 async-summary callback (usage, not usage_metadata); mavi-api.md line 491.
SUMMARY_CALLBACK_TEXT = r"""{"code": "0000", "message": "SUCCESS",
 "data": {"data": {"summary": "<summary text>",
                   "usage": {"duration": 8.1, "model": "gemini-2.5-flash",
                             "output_tokens": 240, "prompt_tokens": 5200}},
          "msg": "<detail>", "success": true},
 "task_id": "ec2449885ba84c4f943a80ff0633158e"}"""
SUMMARY_CALLBACK = _load(SUMMARY_CALLBACK_TEXT)

# §12.5 /video/clip callback (inclusive frame numbers); mavi-api.md line 517.
SCENES_CALLBACK_TEXT = r"""{"code": "0000", "message": "SUCCESS",
 "data": {"data": {"data": [{"start": 0, "end": 143}, {"start": 144, "end": 401}],
                   "exec_time": 3.2},
          "msg": "<detail>", "success": true},
 "task_id": "f432bc84bfd141d1b05c1d24af0abe6a"}"""
SCENES_CALLBACK = _load(SCENES_CALLBACK_TEXT)

# §12.6 /video/split callback (no data.data level; file_size an int); mavi-api.md line 543.
SPLIT_CALLBACK_TEXT = r"""{"code": "0000", "message": "SUCCESS",
 "data": {"splits": [{"asset_id": "re_660736410386149377", "create_time": "1766989317192",
                      "extension": "mp4", "file_size": 10485760, "modify_time": "1766989317192",
                      "original_filename": "segment_video_<id>_0", "upload_status": "SUCCESS"}]},
 "task_id": "f432bc84bfd141d1b05c1d24af0abe6a"}"""
SPLIT_CALLBACK = _load(SPLIT_CALLBACK_TEXT)

# §12.7 /video/edit callback (data is one asset record); mavi-api.md line 575.
EDIT_CALLBACK_TEXT = r"""{"code": 200, "message": "SUCCESS",
 "data": {"asset_id": "re_660736410386149378", "create_time": "1766989317192",
          "extension": "mp4", "file_size": 52428800, "modify_time": "1766989317192",
          "original_filename": "final_video", "upload_status": "SUCCESS"},
 "task_id": "f432bc84bfd141d1b05c1d24af0abe6a"}"""
EDIT_CALLBACK = _load(EDIT_CALLBACK_TEXT)

# §12.8 speech-to-text answer, ElevenLabs (word times in seconds); mavi-api.md line 618.
ELEVENLABS_ANSWER_TEXT = r"""{"code": 200, "msg": "success",
 "data": {"language_code": "en", "language_probability": 0.98,
          "text": "Hello, how are you today? I'm doing well, thank you.",
          "words": [{"text": "Hello,", "start": 0.0, "end": 0.52, "type": "word", "speaker_id": "speaker_0"},
                    {"text": " ", "start": 0.52, "end": 0.52, "type": "spacing"}]},
 "failed": false, "success": true}"""
ELEVENLABS_ANSWER = _load(ELEVENLABS_ANSWER_TEXT)

# §12.8 speech-to-text answer, AssemblyAI (word times in milliseconds); mavi-api.md line 663.
ASSEMBLYAI_ANSWER_TEXT = r"""{"code": 200, "msg": "success",
 "data": {"id": "9a27d0d5-d2db-448c-823c-f098507789be", "status": "completed",
          "language_code": "en_us", "audio_url": "https://storage.googleapis.com/...",
          "audio_duration": 52, "text": "Hello, how are you today? I'm doing well, thank you.",
          "words": [{"text": "Hello,", "start": 0, "end": 520, "confidence": 0.99, "speaker": "A"}]},
 "failed": false, "success": true}"""
ASSEMBLYAI_ANSWER = _load(ASSEMBLYAI_ANSWER_TEXT)

# §12.9 /vu/chat/completions request (Gemini, structured output); mavi-api.md line 752.
VLM_GEMINI_REQUEST_TEXT = r"""{"model": "gemini:gemini-2.5-flash",
 "messages": [{"role": "user", "content": [
   {"type": "input_file", "file_uri": "https://example.com/video.mp4", "mime_type": "video/mp4"},
   {"type": "text", "text": "Summarise this video as JSON."}]}],
 "max_tokens": 1000,
 "extra_body": {"metadata": {"response_mime_type": "application/json",
                             "responseSchema": {"type": "OBJECT", "properties": {"summary": {"type": "STRING"}}, "required": ["summary"]}}}}"""
VLM_GEMINI_REQUEST = _load(VLM_GEMINI_REQUEST_TEXT)

# §12.9 /vu/chat/completions answer (Gemini; no Mavi envelope); mavi-api.md line 761.
VLM_GEMINI_ANSWER_TEXT = r"""{"id": "resp_5810813e-99b9-427a-8736-23cf34573627", "object": "completion",
 "model": "gemini:gemini-2.5-flash", "created_at": 1767093284, "status": "completed",
 "choices": [{"text": "This video demonstrates the effects of vacuum on three different states of oranges. …", "index": 0}],
 "usage": {"input_tokens": 16983, "output_tokens": 37, "total_tokens": 17020},
 "meta": {"provider": "gemini", "provider_model": "gemini-2.5-flash"}}"""
VLM_GEMINI_ANSWER = _load(VLM_GEMINI_ANSWER_TEXT)

# §12.10 /embeddings/video answer (oldest page, code "0000"); mavi-api.md line 780.
VIDEO_EMBEDDING_ANSWER_TEXT = r"""{"code": "0000", "msg": "success",
 "data": {"embedding": [0.015625, -0.0234375, 0.03125]},
 "success": true, "failed": false}"""
VIDEO_EMBEDDING_ANSWER = _load(VIDEO_EMBEDDING_ANSWER_TEXT)

# §12.10 /embeddings/text answer, newest shape (data is an array); mavi-api.md line 802.
TEXT_EMBEDDING_ANSWER_TEXT = r"""{"code": 200, "msg": "success",
 "data": [{"embedding": [-0.031649195, 0.00069497403, 0.011988669]},
          {"embedding": [0.012345, -0.06789]}],
 "success": true, "failed": false}"""
TEXT_EMBEDDING_ANSWER = _load(TEXT_EMBEDDING_ANSWER_TEXT)

# §3.1 immediate answer of an async submit (inline in the text).
JOB_SUBMITTED_ANSWER_TEXT = r"""{"code":200,"msg":"success","data":{"task_id":"1e8ae1075e054e8abb58e7598c53cbf1"},"failed":false,"success":true}"""
JOB_SUBMITTED_ANSWER = _load(JOB_SUBMITTED_ANSWER_TEXT)

# ---------------------------------------------------------------------------------------------------------
# Shapes the document gives only as tables (no example block), assembled from those tables.

#: §12.2 sync-generate-speaker answer: data.model "pyannote", data.items[] {start, end, speaker}; the values
#: are the sync example's, which the callback example above reuses.
SPEAKER_SYNC_ANSWER: dict[str, Any] = {
    "code": 200,
    "msg": "success",
    "data": {
        "model": "pyannote",
        "items": [
            {"start": 0.03, "end": 0.13, "speaker": "SPEAKER_01"},
            {"start": 0.13, "end": 13.40, "speaker": "SPEAKER_00"},
        ],
    },
    "success": True,
    "failed": False,
}

#: §12.1 sync-generate-audio answer with speaker=true: every item gets a speaker.
AUDIO_SYNC_SPEAKER_ANSWER: dict[str, Any] = {
    "code": 200,
    "msg": "success",
    "data": {
        "model": "whisper-1",
        "items": [
            {
                "text": "Hello, how are you today?",
                "start_time": 0.0,
                "end_time": 2.98,
                "speaker": "SPEAKER_00",
            },
            {
                "text": "I'm doing well, thank you.",
                "start_time": 2.98,
                "end_time": 6.78,
                "speaker": "SPEAKER_01",
            },
        ],
    },
    "failed": False,
    "success": True,
}

#: §12.10 /embeddings/text, lower-case page: one input gives data.embedding.
TEXT_EMBEDDING_ONE_ANSWER: dict[str, Any] = {
    "code": 200,
    "msg": "success",
    "data": {"embedding": [-0.031649195, 0.00069497403, 0.011988669]},
    "success": True,
    "failed": False,
}

#: §12.10 /embeddings/text, lower-case page: several inputs give data.embeddings.
TEXT_EMBEDDING_MANY_ANSWER: dict[str, Any] = {
    "code": 200,
    "msg": "success",
    "data": {"embeddings": [[-0.031649195, 0.00069497403, 0.011988669], [0.012345, -0.06789, 0.5]]},
    "success": True,
    "failed": False,
}

#: §12.9 Nova answers OpenAI-style: choices[].message.content, usage {prompt_tokens, output_token (sic)}.
VLM_NOVA_ANSWER: dict[str, Any] = {
    "id": "chatcmpl_0f1e2d3c",
    "object": "chat.completion",
    "created": 1767093284,
    "model": "nova:us.amazon.nova-lite-v1:0",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Three oranges in a vacuum chamber."},
            "finish_reason": "stop",
        }
    ],
    "usage": {"prompt_tokens": 1200, "output_token": 12, "total_tokens": 1212},
}

#: §12.9 Qwen: only the fields down to choices[].text were captured; model without its prefix.
VLM_QWEN_ANSWER: dict[str, Any] = {
    "id": "5a8f3c2e-1b4d-4e6f-9a7b-0c1d2e3f4a5b",
    "object": "completion",
    "model": "qwen3-vl-plus",
    "created_at": 1767093284,
    "status": "completed",
    "choices": [{"text": "A person peels an orange.", "index": 0}],
}

#: §12.9 errors (UNVERIFIED, the official examples): HTTP 200 with status "errored" and an error object.
VLM_ERRORED_ANSWER: dict[str, Any] = {
    "id": "resp_00000000-0000-0000-0000-000000000000",
    "object": "completion",
    "status": "errored",
    "error": {"code": 400, "message": "Model input cannot be empty"},
    "choices": [],
}
