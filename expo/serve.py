"""`python -m expo serve|demo`: run and supervise the web app, a Celery worker and the object store."""
import argparse
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from expo import store

STOP_GRACE_S = 5  # then SIGKILL: acks-late tasks are redelivered, so nothing is lost
_libc = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def _die_with_parent():
    # A child must not outlive a supervisor that was killed outright (SIGKILL leaves no chance to clean up).
    if _libc is not None:
        _libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def say(message):
    print(message, flush=True)


def log(message):
    print(f"[serve] {message}", file=sys.stderr, flush=True)


class Child:
    """One supervised process with its own process group and log file."""

    def __init__(self, name, start):
        self.name, self._start, self.process, self.restarts = name, start, None, 0

    def start(self):
        self.process = self._start()

    def alive(self):
        return self.process is not None and self.process.poll() is None

    def signal(self, signum):
        """Signal the child's whole process group, even once its leader is gone: the children of a crashed
        leader (gunicorn's workers) live on in it, holding its port."""
        if self.process is not None:
            try:
                os.killpg(self.process.pid, signum)
            except ProcessLookupError:
                pass


class Supervisor:
    def __init__(self, args):
        self.args = args
        self.data = Path(args.data).resolve()
        self.logs = self.data / "logs"
        self.children = []
        self.stopping = False

    def _log_path(self, name):
        self.logs.mkdir(parents=True, exist_ok=True)
        return self.logs / f"{name}.log"

    def _spawn(self, name, argv):
        with open(self._log_path(name), "ab") as log_file:
            return subprocess.Popen(argv, stdout=log_file, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                    start_new_session=True, preexec_fn=_die_with_parent, env=os.environ.copy())

    def _site_origins(self):
        hosts = {self.args.host, "localhost", "127.0.0.1"} if self.args.host == "127.0.0.1" else {self.args.host}
        return ",".join(sorted(f"http://{host}:{self.args.port}" for host in hosts))

    def _start_store(self):
        process, endpoint, keys = store.start(self.data / "store", self.args.host, self.args.s3_port,
                                              os.environ.get("EXPO_S3_BUCKET", "expo"), self._log_path("store"),
                                              origins=self._site_origins(), preexec_fn=_die_with_parent)
        store.save_settings(self.data, endpoint, keys)
        return process

    def _start_worker(self):
        return self._spawn("worker", [sys.executable, "-m", "celery", "-A", "expo.worker", "worker", "-Q",
                                      "short,long", "--concurrency", str(self.args.workers), "--loglevel", "INFO",
                                      "-n", f"expo-{os.getpid()}@%h", "--without-gossip", "--without-mingle"])

    def _start_beat(self):
        return self._spawn("beat", [sys.executable, "-m", "celery", "-A", "expo.worker", "beat", "--loglevel", "INFO",
                                    "-s", str(self.data / "celerybeat-schedule")])

    def _start_web(self):
        return self._spawn("web", [sys.executable, "-m", "gunicorn", "-b", f"{self.args.host}:{self.args.port}",
                                   "-w", str(self.args.web_workers), "--threads", "4", "--timeout", "120",
                                   # Idle keep-alive connections wait in the poller, not in a thread; closing
                                   # them after gunicorn's default 2 s races clients that reuse them (resets).
                                   "--keep-alive", "75",
                                   "--graceful-timeout", "5", "expo:create_app()"])

    def _start_sandbox(self):
        # H5 bundles: a second origin (another port), cookie-less, serving bundle files and nothing else.
        return self._spawn("sandbox", [sys.executable, "-m", "gunicorn", "-b",
                                       f"{self.args.host}:{self.args.sandbox_port}", "-w", "1", "--threads", "8",
                                       "--timeout", "120", "--graceful-timeout", "5",
                                       "expo.sandbox:create_sandbox_app()"])

    def _wait_http(self, url, child, timeout=60):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not child.alive():
                raise RuntimeError(f"{child.name} exited while starting; see {self.logs / child.name}.log")
            try:
                with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - our own loopback URL
                    if answer.status < 500:
                        return
            except urllib.error.HTTPError as error:  # the sandbox answers 404 at its root: it is up
                error.close()
                if error.code < 500:
                    return
                time.sleep(0.2)
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        raise RuntimeError(f"{url} did not answer within {timeout} s")

    def _migrate(self):
        with open(self._log_path("migrate"), "ab") as log_file:
            subprocess.run([sys.executable, "-m", "flask", "--app", "expo", "db", "upgrade", "heads"], check=True,
                           stdout=log_file, stderr=subprocess.STDOUT)

    def start(self):
        os.environ["EXPO_DATA_DIR"] = str(self.data)
        os.environ.setdefault("EXPO_SANDBOX_ORIGIN", f"http://{self.args.host}:{self.args.sandbox_port}")
        os.environ.setdefault("EXPO_SITE_ORIGINS", self._site_origins())
        self.data.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("EXPO_S3_ENDPOINT"):
            self._add("store", self._start_store)
        self._migrate()
        self._add("worker", self._start_worker)
        self._add("beat", self._start_beat)
        if self.args.demo:
            self._load_demo()
        self._add("sandbox", self._start_sandbox)
        self._wait_http(f"http://{self.args.host}:{self.args.sandbox_port}/", self.children[-1])
        self._add("web", self._start_web)
        self._wait_http(f"http://{self.args.host}:{self.args.port}/", self.children[-1])
        say(f"Expo: http://{self.args.host}:{self.args.port}")
        if not os.environ.get("EXPO_S3_ENDPOINT"):
            say(f"Storage: http://{self.args.host}:{self.args.s3_port}")

    def _add(self, name, starter):
        child = Child(name, starter)
        child.start()
        self.children.append(child)

    def _load_demo(self):
        log("loading the demo expo")
        subprocess.run([sys.executable, "-m", "expo.demo"], check=True)

    def watch(self):
        while not self.stopping:
            for child in self.children:
                if not child.alive() and not self.stopping:
                    child.restarts += 1
                    log(f"{child.name} exited with code {child.process.returncode}; restarting "
                        f"(restart {child.restarts}); its log is {self.logs / child.name}.log")
                    child.signal(signal.SIGKILL)  # what the dead leader left behind would hold its port
                    try:
                        child.start()
                    except Exception as error:  # noqa: BLE001 - keep supervising the others
                        log(f"{child.name} could not restart: {error}")
            time.sleep(0.5)

    def stop(self):
        self.stopping = True
        for child in reversed(self.children):
            child.signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for child in self.children:
            while child.alive() and time.monotonic() < deadline:
                time.sleep(0.05)
        for child in self.children:
            if child.alive():
                log(f"{child.name} did not stop in time; killing it")
            child.signal(signal.SIGKILL)
            if child.process is not None:
                child.process.wait()


def parse(argv):
    parser = argparse.ArgumentParser(prog="python -m expo", description="Run Cloud Expo on its embedded stack.")
    parser.add_argument("command", choices=["serve", "demo"])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument("--s3-port", type=int, default=8333)
    parser.add_argument("--sandbox-port", type=int, default=5001,
                        help="port of the sandbox origin serving H5 bundles (EXPO_SANDBOX_ORIGIN overrides the URL)")
    parser.add_argument("--data", default=os.environ.get("EXPO_DATA_DIR", "instance"))
    parser.add_argument("--workers", type=int, default=2, help="Celery worker processes")
    parser.add_argument("--web-workers", type=int, default=2, help="gunicorn worker processes")
    args = parser.parse_args(argv)
    args.demo = args.command == "demo"
    return args


def main(argv=None):
    args = parse(argv if argv is not None else sys.argv[1:])
    supervisor = Supervisor(args)

    def _stop(signum, _frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    try:
        supervisor.start()
        supervisor.watch()
    except (RuntimeError, subprocess.CalledProcessError) as error:
        log(f"could not start: {error}")
        return 1
    finally:
        supervisor.stop()
    return 0
