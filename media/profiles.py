"""Transcoding profiles as data: the HLS ladder, encoder settings, loudness targets and what the probe accepts."""

# Rungs name the short side of the picture (height for landscape, width for portrait), as PeerTube does.
RUNGS = (1080, 720, 480, 360)
# PeerTube's average bits per pixel per rung: maxrate = width × height × fps × bpp.
BITS_PER_PIXEL = {1080: 0.10, 720: 0.11, 480: 0.12, 360: 0.15}
SMALLEST_RUNG_BPP = BITS_PER_PIXEL[360]
MAXRATE_OVER_INPUT = 1.3
BUFSIZE_OVER_MAXRATE = 2
CRF = 22
X264_PRESET = "veryfast"
H264_PROFILE = "high"
MAX_FPS = 60
GOP_SECONDS = 2
SEGMENT_SECONDS = 4

AUDIO_BITRATE = "128k"
AUDIO_SAMPLE_RATE = 48000
AUDIO_CHANNELS = 2
OPUS_BITRATE = "96k"

# EBU R128 for the web: integrated loudness, true peak, loudness range.
LOUDNESS_TARGET = {"I": -16.0, "TP": -1.5, "LRA": 11.0}

POSTER_WIDTH = 1280
POSTER_AT = 0.2  # of the duration: past intros and fades, before most endings
POSTER_CANDIDATES = 12  # keyframes (a phone's GOP is ~1 s, an editor's export 2–10 s)
STORYBOARD_WIDTH = 160
STORYBOARD_MAX_THUMBS = 100
STORYBOARD_COLUMNS = 10
WAVEFORM_PEAKS = 800
WAVEFORM_RATE = 8000

# Demuxer names as ffmpeg knows them; the project passes one of these with -f, never letting ffmpeg guess.
VIDEO_CONTAINERS = frozenset({"mov", "mp4", "m4a", "3gp", "matroska", "webm", "avi"})
AUDIO_CONTAINERS = frozenset({"mp3", "ogg", "flac", "wav", "aac", "mov", "mp4", "m4a", "matroska", "webm"})
VIDEO_CODECS = frozenset({"h264", "hevc", "vp8", "vp9", "av1", "mpeg4", "mpeg2video", "prores"})
AUDIO_CODECS = frozenset({"aac", "mp3", "opus", "vorbis", "flac", "pcm_s16le", "pcm_s24le", "alac"})

# media.detect.sniff() format -> the ffmpeg demuxer to force with -f.
INPUT_FORMATS = {
    "mp4": "mp4",
    "matroska": "matroska",
    "avi": "avi",
    "wav": "wav",
    "mp3": "mp3",
    "flac": "flac",
    "ogg": "ogg",
    "aac": "aac",
}

# Names an exhibitor recognises, for messages that say what is allowed.
VIDEO_ALLOWED_TEXT = ("MP4, MOV, MKV, WebM or AVI with H.264, HEVC, VP8, VP9, AV1, MPEG-4, MPEG-2 or ProRes video "
                      "and AAC, MP3, Opus, Vorbis, FLAC, ALAC or PCM sound")
AUDIO_ALLOWED_TEXT = "MP3, AAC, M4A, Ogg (Opus or Vorbis), FLAC or WAV"

CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".m4s": "video/iso.segment",
    ".mp4": "video/mp4",
    ".m4a": "audio/mp4",
    ".webm": "audio/webm",
    ".opus": "audio/ogg",
    ".jpg": "image/jpeg",
    ".webp": "image/webp",
    ".vtt": "text/vtt",
    ".json": "application/json",
}
