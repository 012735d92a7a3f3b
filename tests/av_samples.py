"""Generated audio and video for the tests: tiny files made with ffmpeg's lavfi sources, never committed."""
import subprocess

from media.transcode import ffmpeg_binary

SECRET_TITLE = "SECRET-TITLE"
SECRET_LOCATION = "+31.2304+121.4737/"
SECRET_ID3 = "SECRET-ID3"


def ffmpeg(*args):
    """Run ffmpeg quietly with ARGS; raise with its message if it fails."""
    result = subprocess.run([ffmpeg_binary(), "-hide_banner", "-nostdin", "-loglevel", "error", "-y", *args],
                            capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"ffmpeg failed: {result.stderr[-2000:]}")


def picture(width, height, seconds, rate=25):
    return ["-f", "lavfi", "-i", f"testsrc2=size={width}x{height}:rate={rate}:duration={seconds}"]


def _tone(seconds, volume_db=-12.0, rate=48000):
    return ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration={seconds},volume={volume_db}dB"]


H264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"]


def mp4(path, width=320, height=240, seconds=2, audio=True, tags=True):
    """Write an H.264 (+AAC) MP4, tagged with a title and a GPS position unless TAGS is false."""
    sound = [*_tone(seconds), "-c:a", "aac", "-b:a", "96k"] if audio else []
    meta = ["-metadata", f"title={SECRET_TITLE}", "-metadata", f"location={SECRET_LOCATION}"] if tags else []
    ffmpeg(*picture(width, height, seconds), *sound, *H264, *meta, "-shortest", str(path))
    return path


def rotated(path, tmp_dir):
    """Write a 320×240 clip whose display matrix turns it 90° (a phone held upright)."""
    plain = mp4(tmp_dir / "unrotated.mp4")
    ffmpeg("-display_rotation", "90", "-i", str(plain), "-c", "copy", str(path))
    return path


def silent(path):
    """Write an MP4 with a picture and no sound."""
    return mp4(path, audio=False)


def truncated(path, tmp_dir):
    """Write an MP4 cut off before its moov box (ffmpeg puts moov at the end unless asked for faststart)."""
    whole = mp4(tmp_dir / "whole.mp4")
    data = whole.read_bytes()
    moov = data.rfind(b"moov")
    assert moov > data.find(b"mdat") > 0, "expected moov after mdat"
    path.write_bytes(data[:moov - 4])
    return path


def m4a(path, seconds=1):
    """Write an MP4 file holding sound only."""
    ffmpeg(*_tone(seconds), "-c:a", "aac", str(path))
    return path


def mp3(path, seconds=3):
    """Write an MP3 with an ID3 title tag."""
    ffmpeg(*_tone(seconds, rate=44100), "-c:a", "libmp3lame", "-b:a", "128k", "-id3v2_version", "3",
           "-metadata", f"title={SECRET_ID3}", str(path))
    return path


def quiet_wav(path, seconds=4):
    """Write a mono WAV of a sine whose peaks sit at -35 dBFS (about -38 LUFS)."""
    amplitude = 10 ** (-35 / 20)
    ffmpeg("-f", "lavfi", "-i", f"aevalsrc={amplitude:.5f}*sin(2*PI*1000*t):s=48000:d={seconds}",
           "-ac", "1", "-c:a", "pcm_s16le", str(path))
    return path


def silent_wav(path, seconds=2):
    """Write a WAV of digital silence (loudness -inf)."""
    ffmpeg("-f", "lavfi", "-i", f"anullsrc=r=48000:cl=stereo:d={seconds}", "-c:a", "pcm_s16le", str(path))
    return path


def mkv_vp9(path, seconds=1):
    """Write a small Matroska file with VP9 video and Opus sound."""
    ffmpeg(*picture(320, 240, seconds), *_tone(seconds), "-c:v", "libvpx-vp9", "-deadline", "realtime",
           "-cpu-used", "8", "-b:v", "200k", "-c:a", "libopus", "-shortest", str(path))
    return path


def mjpeg_avi(path, seconds=1):
    """Write an AVI of Motion-JPEG video, a codec the expo does not accept."""
    ffmpeg(*picture(160, 120, seconds), "-c:v", "mjpeg", str(path))
    return path


def playlist_disguised(path):
    """Write an HLS playlist that names a local file, as an attacker would upload it under a video name."""
    path.write_text("#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n")
    return path


def long_lavfi(seconds=600):
    """Return ffmpeg input arguments for a long generated clip (to run into a time limit)."""
    return picture(1280, 720, seconds)


SRT = """1
00:00:01,000 --> 00:00:03,500
Hello <b>visitors</b> & friends

2
00:00:04,000 --> 00:00:06,000
<script>alert('x')</script>Welcome to <i>the</i> expo
<font color="red">Second line</font>

"""


def srt(path):
    """Write an SRT file whose cues carry markup and a script tag."""
    path.write_text(SRT, encoding="utf-8")
    return path
