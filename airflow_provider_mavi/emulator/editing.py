"""Real video files out of real video files with PyAV: split by remuxing, edit by concatenating.

- :func:`split` copies the packets (no re-encoding, so no quality loss) into one MP4 per segment, cutting at
  the first video keyframe at or after each multiple of ``segment_seconds``: segments start on keyframes, so
  their lengths follow the source's keyframe spacing.
- :func:`concatenate` decodes the inputs in order and re-encodes them into one H.264/AAC MP4 with a 16:9
  (landscape) or 9:16 (portrait) frame: each picture is scaled to fit and padded with black (libav's
  ``scale`` and ``pad`` filters); inputs
  without sound get silence. The short side is the largest input short side, at most :data:`MAX_SHORT_SIDE`.

Every function blocks: the app runs them in its worker pool, never on the event loop.
"""

from __future__ import annotations

import itertools
from fractions import Fraction
from typing import TYPE_CHECKING

import av

from airflow_provider_mavi.emulator.media import MediaError

if TYPE_CHECKING:
    from pathlib import Path

    from av.audio.stream import AudioStream
    from av.container import InputContainer, OutputContainer
    from av.video.stream import VideoStream

MAX_SHORT_SIDE = 720
MAX_FPS = 30
AUDIO_RATE = 48000
AUDIO_FRAME = 1024
_ERRORS = (av.FFmpegError, IndexError, ValueError)


def split(source: Path, out_dir: Path, segment_seconds: float) -> list[Path]:
    """Remux ``source`` into segments of about ``segment_seconds``, cut on video keyframes.

    :param source: the video file.
    :param out_dir: where the segments are written (``segment_00000.mp4``, ...; created).
    :param segment_seconds: the target length of a segment.
    :raises MediaError: when the file cannot be read or written.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    output: OutputContainer | None = None
    try:
        with av.open(str(source)) as container:
            video = container.streams.video[0]
            streams = [s for s in container.streams if s.type in ("video", "audio")]
            mapping: dict[int, av.stream.Stream] = {}
            offsets: dict[int, int] = {}
            boundary = 0.0
            for packet in container.demux(streams):
                if packet.dts is None or packet.pts is None:
                    continue  # the demuxer's end-of-stream marker
                at = float(packet.pts * packet.time_base) if packet.time_base else 0.0
                if packet.stream is video and packet.is_keyframe and at + 1e-6 >= boundary:
                    if output is not None:
                        output.close()
                    paths.append(out_dir / f"segment_{len(paths):05d}.mp4")
                    output = av.open(str(paths[-1]), mode="w", format="mp4")
                    mapping = {s.index: output.add_stream_from_template(s) for s in streams}
                    offsets = {}
                    while boundary <= at + 1e-6:
                        boundary += segment_seconds
                if output is None:
                    continue  # packets before the first keyframe cannot start a playable file
                index = packet.stream.index
                offset = offsets.setdefault(index, packet.dts)
                packet.pts -= offset
                packet.dts -= offset
                packet.stream = mapping[index]
                output.mux(packet)
    except _ERRORS as exc:
        raise MediaError(type(exc).__name__) from exc
    finally:
        if output is not None:
            output.close()
    if not paths:
        raise MediaError("no video keyframe to start a segment")
    return paths


def frame_size(short_sides: list[int], orientation: str) -> tuple[int, int]:
    """Return the output frame: 16:9 for ``landscape``, 9:16 for ``portrait``, even sides.

    :param short_sides: the inputs' short sides.
    :param orientation: ``landscape`` or ``portrait``.
    """
    short = min(MAX_SHORT_SIDE, max(short_sides))
    short -= short % 2
    long = round(short * 16 / 9)
    long -= long % 2
    return (long, short) if orientation == "landscape" else (short, long)


def concatenate(sources: list[Path], target: Path, orientation: str) -> None:
    """Write the inputs one after another into ``target`` in the requested orientation.

    :param sources: the video files, in order.
    :param target: the MP4 to write.
    :param orientation: ``landscape`` (16:9) or ``portrait`` (9:16).
    :raises MediaError: when an input cannot be decoded or the output written.
    """
    try:
        shapes, rates, sound = [], [], False
        for source in sources:
            with av.open(str(source)) as container:
                stream = container.streams.video[0]
                shapes.append(min(stream.codec_context.width, stream.codec_context.height))
                rates.append(float(stream.average_rate or stream.guessed_rate or 25))
                sound = sound or bool(container.streams.audio)
        size = frame_size(shapes, orientation)
        fps = Fraction(min(MAX_FPS, max(rates))).limit_denominator(1001)
        with av.open(str(target), mode="w", format="mp4") as output:
            video = output.add_stream("libx264", rate=fps)
            video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
            video.options = {"preset": "ultrafast", "g": str(max(1, round(float(fps)) * 2))}
            audio = (
                _Sound(output, output.add_stream("aac", rate=AUDIO_RATE, layout="stereo")) if sound else None
            )
            clock = _Clock(fps)
            for source in sources:
                with av.open(str(source)) as container:
                    length = _copy_video(container, output, video, size, clock)
                if audio is not None:
                    with av.open(str(source)) as container:
                        audio.add(container, length)
                clock.offset += length
            for packet in video.encode(None):
                output.mux(packet)
            if audio is not None:
                audio.close()
    except _ERRORS as exc:
        raise MediaError(type(exc).__name__) from exc


class _Clock:
    """Where the next input starts in the output (seconds), and the last video frame number written."""

    def __init__(self, fps: Fraction) -> None:
        """Start at zero."""
        self.fps = fps
        self.offset = 0.0
        self.last_pts = -1


def fitted_size(width: int, height: int, size: tuple[int, int]) -> tuple[int, int]:
    """Return the size of a ``width`` x ``height`` picture scaled to fit ``size`` (even sides).

    :param width: the picture's width.
    :param height: the picture's height.
    :param size: the frame to fit in.
    """
    scale = min(size[0] / width, size[1] / height)
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


class _Fitter:
    """Scales one input's frames to fit the output frame on black bars, in libav's filters (C, not Python).

    :param source: the input's video stream.
    :param size: the output frame.
    """

    def __init__(self, source: VideoStream, size: tuple[int, int]) -> None:
        """Build the filter graph: scale, pad and convert to ``yuv420p``."""
        width, height = fitted_size(source.codec_context.width, source.codec_context.height, size)
        self.graph = av.filter.Graph()
        chain = [
            self.graph.add_buffer(template=source),
            self.graph.add("scale", f"{width}:{height}"),
            self.graph.add("pad", f"{size[0]}:{size[1]}:(ow-iw)/2:(oh-ih)/2:black"),
            self.graph.add("format", "yuv420p"),
            self.graph.add("buffersink"),
        ]
        for first, second in itertools.pairwise(chain):
            first.link_to(second)
        self.graph.configure()

    def fit(self, frame: av.VideoFrame) -> av.VideoFrame:
        """Return the frame scaled and padded (the filters give one frame per frame).

        :param frame: a decoded frame.
        """
        self.graph.push(frame)
        out = self.graph.pull()
        assert isinstance(out, av.VideoFrame)
        return out


def _copy_video(
    container: InputContainer,
    output: OutputContainer,
    stream: VideoStream,
    size: tuple[int, int],
    clock: _Clock,
) -> float:
    """Decode one input's picture, letterbox it and encode it at the output's frame rate.

    :param container: the input.
    :param output: the output.
    :param stream: the output's video stream.
    :param size: the output frame.
    :param clock: where this input starts.
    :return: the input's length in seconds (its last frame's end).
    """
    source = container.streams.video[0]
    source.thread_type = "AUTO"
    start = float(source.start_time * source.time_base) if source.start_time and source.time_base else 0.0
    rate = float(source.average_rate or source.guessed_rate or clock.fps)
    end = 0.0
    fitter = _Fitter(source, size)
    for index, frame in enumerate(container.decode(source)):
        at = frame.time - start if frame.time is not None else index / rate
        end = max(end, at + 1 / rate)
        pts = round((clock.offset + at) * clock.fps)
        if pts <= clock.last_pts:
            continue  # a faster input: frames between output ticks are dropped
        clock.last_pts = pts
        out = fitter.fit(frame)
        out.pts = pts
        out.time_base = 1 / clock.fps
        for packet in stream.encode(out):
            output.mux(packet)
    return end


class _Sound:
    """The output's sound: every input's samples, cut or padded to its length, go through one FIFO so the
    AAC encoder always gets whole frames (only the very last may be short)."""

    def __init__(self, output: OutputContainer, stream: AudioStream) -> None:
        """Start with nothing encoded."""
        self.output = output
        self.stream = stream
        self.fifo = av.AudioFifo()
        self.encoded = 0

    def add(self, container: InputContainer, seconds: float) -> None:
        """Append one input's sound (silence when it has none), fitted to ``seconds``.

        :param container: the input.
        :param seconds: the input's length: longer sound is cut, shorter is padded with silence.
        """
        wanted = round(seconds * AUDIO_RATE)
        taken = 0
        if container.streams.audio:
            local = av.AudioFifo()
            resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
            frames = container.decode(container.streams.audio[0])
            for frame in itertools.chain(frames, [None]):
                for out in resampler.resample(frame):
                    out.pts = None
                    local.write(out)
                while local.samples and taken < wanted and (frame is None or local.samples >= AUDIO_FRAME):
                    chunk = local.read(min(AUDIO_FRAME, local.samples, wanted - taken))
                    if chunk is None:
                        break
                    taken += chunk.samples
                    self._push(chunk)
        while taken < wanted:
            silence = av.AudioFrame(format="fltp", layout="stereo", samples=min(AUDIO_FRAME, wanted - taken))
            for plane in silence.planes:
                plane.update(bytes(plane.buffer_size))
            silence.sample_rate = AUDIO_RATE
            taken += silence.samples
            self._push(silence)

    def _push(self, frame: av.AudioFrame) -> None:
        """Queue samples and encode every whole frame queued.

        :param frame: the samples.
        """
        frame.pts = None
        self.fifo.write(frame)
        while self.fifo.samples >= AUDIO_FRAME:
            self._encode(self.fifo.read(AUDIO_FRAME))

    def _encode(self, frame: av.AudioFrame | None) -> None:
        """Encode one frame (``None`` flushes the encoder).

        :param frame: the samples.
        """
        if frame is not None:
            frame.pts = self.encoded
            frame.time_base = Fraction(1, AUDIO_RATE)
            self.encoded += frame.samples
        for packet in self.stream.encode(frame):
            self.output.mux(packet)

    def close(self) -> None:
        """Encode what is left and flush the encoder."""
        if self.fifo.samples:
            self._encode(self.fifo.read(self.fifo.samples))
        self._encode(None)
