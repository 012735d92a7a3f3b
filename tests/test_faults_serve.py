"""`python -m expo serve` brings back a crashed web server and a crashed store, and says so in its log
(tests/test_serve.py does the same for the worker)."""
import os
import signal
import time
import urllib.error
import urllib.request

import pytest

from tests.test_serve import Running, _alive, _cmdline, _descendants

pytestmark = pytest.mark.db_independent  # `serve` runs its own embedded stack whatever EXPO_TEST_* say


def _leaders(run, *words):
    """Return the pids of serve's children (process group leaders) whose command lines hold every one of WORDS."""
    return [p for p in _descendants(run.process.pid)
            if _alive(p) and os.getpgid(p) == p and all(any(w in arg for arg in _cmdline(p)) for w in words)]


def _leader(run, *words):
    found = _leaders(run, *words)
    assert len(found) == 1, [(p, _cmdline(p)) for p in found]
    return found[0]


def _site_answers(run):
    try:
        return run.get("/")[0] == 200
    except (urllib.error.URLError, OSError):
        return False


def _store_answers(run):
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{run.s3_port}/expo/", timeout=2)  # noqa: S310 - loopback
    except urllib.error.HTTPError as error:
        error.close()
        return error.code == 403  # it answers, and asks for credentials
    except (urllib.error.URLError, OSError):
        return False
    return True


def _until(check, timeout, what):
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"{what} within {timeout} s")
        time.sleep(0.3)


def test_serve_restarts_a_killed_web_server_and_store_and_logs_it(tmp_path):
    run = Running("serve", tmp_path / "data")
    try:
        run.wait_for_line("Expo: ")
        run.wait_for_line("Storage: ", timeout=5)
        assert _site_answers(run) and _store_answers(run)
        family = _descendants(run.process.pid)

        web = _leader(run, "gunicorn", f"127.0.0.1:{run.port}")
        workers = _descendants(web)
        assert workers, "gunicorn has no workers"
        os.kill(web, signal.SIGKILL)  # the master alone, as a crash would; its workers are orphaned
        _until(lambda: _leaders(run, "gunicorn", f"127.0.0.1:{run.port}") not in ([], [web]) and _site_answers(run), 60,
               "the killed web server did not come back")
        assert not [p for p in workers if _alive(p)], "the dead master's workers were left running"

        store = _leader(run, "weed", "mini")
        os.kill(store, signal.SIGKILL)
        _until(lambda: not _store_answers(run), 10, "the killed store still answered")
        _until(lambda: _store_answers(run), 90, "the killed store did not come back")
        assert _leader(run, "weed", "mini") != store
        assert _site_answers(run)
        family |= _descendants(run.process.pid)
    finally:
        elapsed = run.stop()
    assert elapsed < 10, f"stopping took {elapsed:.1f} s"
    assert "[serve] web exited with code -9; restarting (restart 1)" in run.err
    assert "[serve] store exited with code -9; restarting (restart 1)" in run.err
    deadline = time.monotonic() + 5  # SIGKILLed processes take a moment to go
    while [p for p in family if _alive(p)] and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [(p, _cmdline(p)) for p in family if _alive(p)] == []
