"""Video, audio and captions end to end through a real worker and store; a killed worker; a store outage."""
import os
import signal
import time

import pytest

from tests import av_samples
from tests.conftest import start_store, start_worker, stop_store
from tests.test_api_pavilions import create


@pytest.fixture
def pavilion(api, exhibitor):
    return create(api, exhibitor)


def _upload(api, user, pavilion, path, **kw):
    answer = api(user).upload(pavilion["id"], path.read_bytes(), filename=path.name, **kw)
    assert answer.status_code == 202, answer.get_json()
    return answer.get_json()


def _fetch(api, user, url):
    answer = api(user).get(url)
    assert answer.status_code == 200, url
    return answer.data


def _absolute(base_url, relative):
    return base_url.rsplit("/", 1)[0] + "/" + relative


def test_video_becomes_an_hls_ladder_without_metadata(api, exhibitor, pavilion, worker, tmp_path):
    media = _upload(api, exhibitor, pavilion, av_samples.mp4(tmp_path / "booth.mp4"))
    assert media["kind"] == "video"
    done = api(exhibitor).wait_media(media["id"], timeout=120)
    assert done["status"] == "ready", done
    assert done["progress"] == 100 and done["meta"]["rungs"] == [240]
    assert {"hls", "poster", "poster_webp", "storyboard"} <= set(done["renditions"])
    master = _fetch(api, exhibitor, done["renditions"]["hls"]).decode()
    assert "#EXT-X-STREAM-INF" in master and "RESOLUTION=320x240" in master
    variant_name = next(line for line in master.splitlines() if line and not line.startswith("#"))
    variant_url = _absolute(done["renditions"]["hls"], variant_name)
    variant = _fetch(api, exhibitor, variant_url).decode()
    assert "#EXT-X-MAP" in variant and "#EXT-X-ENDLIST" in variant
    segments = [line for line in variant.splitlines() if line and not line.startswith("#")]
    everything = b"".join(_fetch(api, exhibitor, _absolute(variant_url, s)) for s in segments)
    everything += _fetch(api, exhibitor, done["renditions"]["poster"])
    assert av_samples.SECRET_TITLE.encode() not in everything
    assert av_samples.SECRET_LOCATION.encode() not in everything


def test_audio_is_levelled_and_untagged(api, exhibitor, pavilion, worker, tmp_path):
    media = _upload(api, exhibitor, pavilion, av_samples.mp3(tmp_path / "talk.mp3"))
    done = api(exhibitor).wait_media(media["id"], timeout=120)
    assert done["status"] == "ready", done
    assert {"aac", "waveform"} <= set(done["renditions"])
    assert abs(done["meta"]["loudness"]["output_i"] - (-16)) <= 1.5
    for name in ("aac", "opus"):
        if name in done["renditions"]:
            assert av_samples.SECRET_ID3.encode() not in _fetch(api, exhibitor, done["renditions"][name])
    peaks = api(exhibitor).get(done["renditions"]["waveform"]).get_json()["peaks"]
    assert peaks and all(0 <= p <= 1 for p in peaks)


def test_captions_attach_to_a_video_and_reach_the_page(api, client, exhibitor, curator, pavilion, worker, tmp_path):
    video = _upload(api, exhibitor, pavilion, av_samples.mp4(tmp_path / "v.mp4", tags=False))
    captions = _upload(api, exhibitor, pavilion, av_samples.srt(tmp_path / "v.srt"))
    assert captions["kind"] == "captions"
    ready = api(exhibitor).wait_media(captions["id"])
    assert ready["status"] == "ready", ready
    vtt = _fetch(api, exhibitor, ready["renditions"]["vtt"]).decode()
    assert vtt.startswith("WEBVTT") and "<script" not in vtt and "<b>" not in vtt
    assert api(exhibitor).wait_media(video["id"], timeout=120)["status"] == "ready"
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "video", "media": video["id"], "captions": captions["id"]}]
    assert api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft).status_code == 200
    review = api(exhibitor).post(f"/api/v1/pavilions/{pavilion['id']}/submit").get_json()["id"]
    assert api(curator).post(f"/api/v1/reviews/{review}", json={"decision": "approve"}).status_code == 200
    page = client.get(f"/pavilions/{pavilion['slug']}").get_data(as_text=True)
    assert 'data-block-kind="video"' in page and 'kind="captions"' in page and "data-hls=" in page
    assert "hls.light.min.js" in page
    published = api().get(f"/api/v1/pavilions/{pavilion['slug']}").get_json()["blocks"][0]
    assert {"hls", "poster"} <= set(published["media"]["renditions"])
    assert client.get(published["media"]["renditions"]["hls"]).status_code == 200  # public once approved


def test_captions_cannot_stand_in_for_a_video(api, exhibitor, pavilion, worker, tmp_path):
    captions = _upload(api, exhibitor, pavilion, av_samples.srt(tmp_path / "c.srt"))
    draft = api(exhibitor).get(f"/api/v1/pavilions/{pavilion['id']}/draft").get_json()
    draft["blocks"] = [{"kind": "video", "media": captions["id"]}]
    answer = api(exhibitor).put(f"/api/v1/pavilions/{pavilion['id']}/draft", json=draft)
    assert answer.status_code == 422 and answer.get_json()["error"]["code"] == "media_kind_mismatch"


def test_truncated_video_fails_with_an_actionable_reason(api, exhibitor, pavilion, worker, tmp_path):
    media = _upload(api, exhibitor, pavilion, av_samples.truncated(tmp_path / "cut.mp4", tmp_path))
    done = api(exhibitor).wait_media(media["id"], timeout=60)
    assert done["status"] == "failed"
    assert "re-export" in done["error"]["message"]


def test_unaccepted_codec_fails_naming_what_is_allowed(api, exhibitor, pavilion, worker, tmp_path):
    media = _upload(api, exhibitor, pavilion, av_samples.mjpeg_avi(tmp_path / "old.avi"))
    done = api(exhibitor).wait_media(media["id"], timeout=60)
    assert done["status"] == "failed" and "H.264" in done["error"]["message"]


def _status(app, media_id):
    from expo.extensions import db
    from media.models import Media

    with app.app_context():
        media = db.session.get(Media, media_id)
        return media.status.value, media.progress, media.detail, media.tries


def requeue_silent_runs(app):
    """Run the watchdog as beat would, with a 3 s silence threshold, once a killed worker's heartbeat is older."""
    from media import tasks

    app.config["EXPO_WATCHDOG_SILENCE_S"] = 3
    try:
        time.sleep(4)
        with app.app_context():
            tasks.watchdog()
    finally:
        app.config["EXPO_WATCHDOG_SILENCE_S"] = 120


def test_killed_worker_mid_job_still_ends_ready(app, api, exhibitor, pavilion, stack, worker, tmp_path):

    clip = av_samples.mp4(tmp_path / "long.mp4", width=1280, height=720, seconds=12, tags=False)
    queues = {"EXPO_QUEUE_SHORT": "victim-short", "EXPO_QUEUE_LONG": "victim-long"}
    victim = start_worker(stack.root, "victim-short,victim-long", queues)
    try:
        app.config.update(queues)
        try:
            media = _upload(api, exhibitor, pavilion, clip)
        finally:
            app.config.update(EXPO_QUEUE_SHORT="short", EXPO_QUEUE_LONG="long")
        deadline = time.monotonic() + 60
        while _status(app, media["id"])[0] != "processing" and time.monotonic() < deadline:
            time.sleep(0.2)
        time.sleep(1.5)
        assert _status(app, media["id"])[0] == "processing", api(exhibitor).get(f"/api/v1/media/{media['id']}").json
    finally:
        os.killpg(victim.pid, signal.SIGKILL)  # the whole worker, as a crashed machine would lose it
        victim.wait()
    requeue_silent_runs(app)
    assert _status(app, media["id"])[2] == "restarted: the worker stopped responding"
    done = api(exhibitor).wait_media(media["id"], timeout=180)
    assert done["status"] == "ready", done
    with app.app_context():
        from expo.extensions import db
        from media.models import Media

        row = db.session.get(Media, media["id"])
        runs = [a.run_id for a in row.attempts]
        assert len(runs) == 2 and row.run_id == runs[-1] and row.attempts[0].outcome == "running"
        assert all(f"/{row.run_id}/" in r["key"] for r in row.renditions.values())


@pytest.mark.skipif(os.environ.get("EXPO_TEST_S3_ENDPOINT") is not None,
                    reason="stops the embedded store; an outside store cannot be stopped by the tests")
def test_store_outage_mid_job_is_retried_then_ready(app, api, exhibitor, pavilion, stack, worker, tmp_path):
    clip = av_samples.mp4(tmp_path / "outage.mp4", width=1280, height=720, seconds=6, tags=False)
    media = _upload(api, exhibitor, pavilion, clip)
    deadline = time.monotonic() + 60
    while _status(app, media["id"])[0] != "processing" and time.monotonic() < deadline:
        time.sleep(0.1)
    stop_store(stack)
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            detail = _status(app, media["id"])[2]
            if detail and detail.startswith("retrying"):
                break
            time.sleep(0.2)
    finally:
        start_store(stack)
    assert detail == "retrying: the media store is unreachable"
    done = api(exhibitor).wait_media(media["id"], timeout=180)
    assert done["status"] == "ready", done


def test_reprocess_writes_a_new_run_and_retention_purges_originals(app, api, exhibitor, pavilion, worker, tmp_path):
    from datetime import timedelta

    from expo.extensions import db, utcnow
    from media import processing
    from media.models import Media
    from media.storage import get_storage
    from tests.test_cli import flask

    media = _upload(api, exhibitor, pavilion, av_samples.mp3(tmp_path / "again.mp3"))
    first = api(exhibitor).wait_media(media["id"], timeout=120)
    answer = flask("media", "reprocess", media["id"])
    assert answer.returncode == 0, answer.stderr
    deadline = time.monotonic() + 120
    while True:
        second = api(exhibitor).get(f"/api/v1/media/{media['id']}").get_json()
        if second["status"] == "ready" and second["renditions"]["aac"] != first["renditions"]["aac"]:
            break
        assert time.monotonic() < deadline, second
        time.sleep(0.3)
    assert api(exhibitor).get(first["renditions"]["aac"]).status_code == 404  # only the current run is served
    with app.app_context():
        row = db.session.get(Media, media["id"])
        assert [a.outcome for a in row.attempts] == ["ready", "ready"]
        app.config["EXPO_ORIGINALS_RETENTION_DAYS"] = 1
        try:
            assert processing.purge_originals(utcnow() + timedelta(days=2)) >= 1
        finally:
            app.config["EXPO_ORIGINALS_RETENTION_DAYS"] = 0
        db.session.commit()
        assert not get_storage().exists(row.original_key)
    refused = flask("media", "reprocess", media["id"])
    assert refused.returncode != 0 and "retention" in refused.stderr
