"""Video benchmark: the pipeline from "queued" to "ready" against the raw single-command ffmpeg ladder.

Run: python bench/bench_video.py [--seconds 20]. Both sides get the same generated 1080p clip and the same
ladder settings (rungs, x264 preset, CRF, maxrate, GOP, AAC, HLS fMP4). The pipeline side also probes and
test-decodes, makes the poster and storyboard, and stores every file in SeaweedFS. Goal: ratio ≥ 0.9.
"""
import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def make_clip(path, seconds):
    from media import transcode

    transcode.run(["-f", "lavfi", "-i", f"testsrc2=size=1920x1080:rate=30:duration={seconds}",
                   "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={seconds}",
                   "-vf", "noise=alls=12:allf=t", "-c:v", "libx264", "-preset", "veryfast", "-crf", "18",
                   "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", "-y", str(path)], 600)


def raw_ladder(src, out):
    """The same ladder as the pipeline, in one plain ffmpeg command, without probe, stills or storage."""
    from media import probe, profiles, transcode

    info = probe.probe(src, "video", "mp4", {"max_seconds": 99999, "max_side": 4096, "max_fps": 60})
    sizes = transcode.ladder(info["video"]["width"], info["video"]["height"])
    labels = "".join(f"[s{i}]" for i in range(len(sizes)))
    graph = ";".join([f"[0:V:0]split={len(sizes)}{labels}"] + [
        f"[s{i}]scale={w}:{h},setsar=1,format=yuv420p[v{i}]" for i, (_r, w, h) in enumerate(sizes)])
    fps = min(info["video"]["fps"], profiles.MAX_FPS)
    started = time.perf_counter()
    transcode.run(["-i", str(src), "-filter_complex", graph,
                   *transcode._encoder_args(sizes, fps, info.get("bit_rate"), True),
                   *transcode._hls_args(out, sizes, True)], 3600)
    return time.perf_counter() - started


def pipeline(src, root):
    """Ingest SRC into a fresh embedded stack and time the processing task from queued to ready."""
    from expo import store

    port = store.free_ports(1)[0]
    weed, endpoint, keys = store.start(root / "store", "127.0.0.1", port, "expo", root / "store.log")
    os.environ.update(EXPO_DATA_DIR=str(root), EXPO_S3_ENDPOINT=endpoint, EXPO_S3_ACCESS_KEY=keys["access_key"],
                      EXPO_S3_SECRET_KEY=keys["secret_key"])
    try:
        import flask_migrate

        from expo import accounts, create_app
        from expo.extensions import db
        from media import services, tasks

        app = create_app()
        with app.app_context():
            flask_migrate.upgrade()
            owner = accounts.create_user("bench@expo.bench", "bench-password", "exhibitor")
            with open(src, "rb") as stream:
                media = services.ingest(stream, "clip.mp4", owner, "bench", None)
            db.session.commit()
            started = time.perf_counter()
            tasks._handle(tasks.process_long_media, media.id)
            elapsed = time.perf_counter() - started
            db.session.refresh(media)
            assert media.status == "ready", (media.error_code, media.error_message)
            return elapsed, media.meta["rungs"]
    finally:
        weed.terminate()
        weed.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=int, default=20)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        clip = root / "clip.mp4"
        make_clip(clip, args.seconds)
        (root / "raw").mkdir()
        raw = raw_ladder(clip, root / "raw")
        piped, rungs = pipeline(clip, root / "stack")
    print(f"clip: {args.seconds} s 1920x1080 30 fps; rungs {rungs}")
    print(f"raw single-command ffmpeg ladder: {raw:.2f} s")
    print(f"pipeline queued -> ready:         {piped:.2f} s")
    print(f"ratio (raw / pipeline): {raw / piped:.2f}  (goal >= 0.90)")


if __name__ == "__main__":
    main()
