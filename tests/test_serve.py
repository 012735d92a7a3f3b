"""`python -m expo serve|demo` as an operator runs it: lines printed, pages served, children supervised."""
import os
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from expo.store import free_ports
from tests.conftest import ROOT

pytestmark = pytest.mark.db_independent  # `serve` runs its own embedded stack whatever EXPO_TEST_* say


def _clean_env(data):
    env = {k: v for k, v in os.environ.items() if not k.startswith("EXPO_")}
    env["EXPO_DATA_DIR"] = str(data)
    return env


def _descendants(pid):
    """Return every process whose parent chain leads to PID."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                parents[int(entry.name)] = int(fields[1])
            except (OSError, IndexError):
                continue
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _cmdline(pid):
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return []


def _alive(pid):
    try:
        os.kill(pid, 0)
        stat = Path(f"/proc/{pid}/stat").read_text()
        return stat.rsplit(")", 1)[1].split()[0] != "Z"
    except (ProcessLookupError, FileNotFoundError):
        return False


def _preflight(s3_port, origin):
    """Return the Access-Control-Allow-Origin the store gives ORIGIN for a browser's PUT, or None."""
    request = urllib.request.Request(f"http://127.0.0.1:{s3_port}/expo/x", method="OPTIONS", headers={
        "Origin": origin, "Access-Control-Request-Method": "PUT"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.headers.get("Access-Control-Allow-Origin")
    except urllib.error.HTTPError as error:
        error.close()
        return None


class Running:
    def __init__(self, command, data):
        self.port, self.s3_port, self.sandbox_port = free_ports(3)
        self.data = data
        self.process = subprocess.Popen(
            [sys.executable, "-m", "expo", command, "--data", str(data), "--port", str(self.port),
             "--s3-port", str(self.s3_port), "--sandbox-port", str(self.sandbox_port)], cwd=ROOT,
            env=_clean_env(data), stdout=subprocess.PIPE,
            stderr=subprocess.PIPE, text=True)
        self.lines = []

    def wait_for_line(self, prefix, timeout=120):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            line = self.process.stdout.readline()
            if not line and self.process.poll() is not None:
                _out, err = self.process.communicate()
                pytest.fail(f"serve exited early: {err[-3000:]}")
            self.lines.append(line.rstrip("\n"))
            if line.startswith(prefix):
                return line.strip()
        pytest.fail(f"no line starting {prefix!r} within {timeout} s; got {self.lines}")

    def get(self, path):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as answer:
            return answer.status, answer.read().decode()

    def stop(self):
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        _out, self.err = self.process.communicate(timeout=15)
        return time.monotonic() - started


def test_demo_serves_supervises_and_stops_cleanly(tmp_path):
    run = Running("demo", tmp_path / "data")
    try:
        started = time.monotonic()
        assert run.wait_for_line("Expo: ") == f"Expo: http://127.0.0.1:{run.port}"
        assert run.wait_for_line("Storage: ", timeout=5) == f"Storage: http://127.0.0.1:{run.s3_port}"
        print(f"demo ready in {time.monotonic() - started:.1f} s")
        status, hall = run.get("/")
        assert status == 200 and len(re.findall(r'data-pavilion="', hall)) == 4
        status, pavilion = run.get("/pavilions/cloud-class")
        for kind in ("text", "image", "video", "audio", "panorama", "h5", "embed"):
            assert f'data-block-kind="{kind}"' in pavilion
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(f"http://127.0.0.1:{run.s3_port}/expo/", timeout=5)
        assert refused.value.code == 403  # the store requires credentials
        refused.value.close()
        assert _preflight(run.s3_port, f"http://127.0.0.1:{run.port}") == f"http://127.0.0.1:{run.port}"
        assert _preflight(run.s3_port, "http://evil.example") is None  # CORS only for the site's own pages
        family = _descendants(run.process.pid)
        assert len(family) >= 3

        worker = next(p for p in family if _cmdline(p)[:4] == [sys.executable, "-m", "celery", "-A"]
                      and "worker" in _cmdline(p) and os.getpgid(p) == p)
        # Transcodes yield the CPU to the web: the worker runs niced, in a session whose autogroup is niced too.
        assert os.getpriority(os.PRIO_PROCESS, worker) == 19
        assert os.sched_getscheduler(worker) == os.SCHED_BATCH
        autogroup = Path(f"/proc/{worker}/autogroup")
        assert not autogroup.exists() or autogroup.read_text().split()[-1] == "19"
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            new = _descendants(run.process.pid) - family
            if any("worker" in _cmdline(p) and "celery" in _cmdline(p) for p in new if _alive(p)):
                break
            time.sleep(0.3)
        else:
            pytest.fail("the killed worker was not restarted")
        family |= _descendants(run.process.pid)
    finally:
        elapsed = run.stop()
    print(f"SIGTERM to exit: {elapsed:.1f} s")
    assert elapsed < 10, f"stopping took {elapsed:.1f} s"
    assert "worker exited" in run.err
    time.sleep(0.5)
    assert [p for p in family if _alive(p)] == []

    again = Running("serve", tmp_path / "data")  # a second start reuses the data
    try:
        again.wait_for_line("Expo: ")
        again.wait_for_line("Storage: ", timeout=5)
        status, hall = again.get("/")
        assert status == 200 and len(re.findall(r'data-pavilion="', hall)) == 4
    finally:
        assert again.stop() < 10
    reload = subprocess.run([sys.executable, "-m", "expo.demo"], cwd=ROOT, env=_clean_env(tmp_path / "data"),
                            capture_output=True, text=True, timeout=60)
    assert reload.returncode == 0 and "0 pavilion(s) loaded, 4 already there" in reload.stderr
