"""Shared plumbing for the benchmarks: settings, the bench database, gunicorn, wrk, the machine.

Everything is configurable through environment variables so the lead can re-run the same
scripts on a quiet machine without editing them:

  BENCH_PG_DSN        libpq DSN of the server (default host=127.0.0.1 port=5432 user=postgres)
  BENCH_DB            name of the dedicated benchmark database (default shelfside_bench)
  BENCH_WORKER_CLASS  gunicorn worker class (default gthread)
  BENCH_WORKERS       gunicorn workers (default 3)
  BENCH_THREADS       gunicorn threads per worker (default 4)
  BENCH_CONNECTIONS   wrk / client connections (default 32)
  BENCH_DURATION      seconds measured per wrk run (default 20)
  BENCH_WARMUP        seconds of warm-up before each measured run (default 5)
  BENCH_WRK_THREADS   wrk threads (default 2)
  BENCH_APP_ROOT      checkout whose app is served / profiled (default: this repository)
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
# the checkout whose app is benchmarked (default: this one); point it at another worktree to
# measure a candidate change against the same database with the same scripts
APP_ROOT = Path(os.environ.get("BENCH_APP_ROOT", ROOT)).resolve()
STATE_DIR = BENCH_DIR / ".state"
RESULTS_DIR = BENCH_DIR / "results"
VENV_BIN = Path(os.environ.get("VENV", ROOT / ".venv")).resolve() / "bin"
PYTHON = str(VENV_BIN / "python")
WRK = os.environ.get("WRK", shutil.which("wrk") or "/usr/bin/wrk")

PG_DSN = os.environ.get("BENCH_PG_DSN", "host=127.0.0.1 port=5432 user=postgres")
BENCH_DB = os.environ.get("BENCH_DB", "shelfside_bench")

# dataset shape (the issue: 100,000 variants at 50 locations = 5,000,000 stock rows)
PRODUCTS = int(os.environ.get("BENCH_PRODUCTS", "20000"))
VARIANTS_PER_PRODUCT = int(os.environ.get("BENCH_VARIANTS_PER_PRODUCT", "5"))
VARIANTS = PRODUCTS * VARIANTS_PER_PRODUCT
STORES = int(os.environ.get("BENCH_STORES", "49"))  # plus one warehouse = 50 locations
LOCATIONS = STORES + 1

# the row the contention benchmark hammers
HOT_SKU = "SKU-000001"
HOT_STORE = "S001"


def sku_of(n: int) -> str:
    """The SKU of variant number n (1-based); the wrk scripts compute the same strings."""
    return f"SKU-{n:06d}"


def store_code(n: int) -> str:
    return f"S{n:03d}"


@dataclass
class ServerSettings:
    worker_class: str = os.environ.get("BENCH_WORKER_CLASS", "gthread")
    workers: int = int(os.environ.get("BENCH_WORKERS", "3"))
    threads: int = int(os.environ.get("BENCH_THREADS", "4"))
    keepalive: int = int(os.environ.get("BENCH_KEEPALIVE", "5"))

    def args(self) -> list[str]:
        args = ["--worker-class", self.worker_class, "--workers", str(self.workers), "--keep-alive", str(self.keepalive)]
        if self.worker_class == "gthread":
            args += ["--threads", str(self.threads)]
        return args

    def describe(self) -> str:
        text = f"{self.workers} × {self.worker_class}"
        if self.worker_class == "gthread":
            text += f", {self.threads} threads each"
        return text + f", keep-alive {self.keepalive}s, access log off, log level warning"


@dataclass
class LoadSettings:
    connections: int = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    duration: int = int(os.environ.get("BENCH_DURATION", "20"))
    warmup: int = int(os.environ.get("BENCH_WARMUP", "5"))
    wrk_threads: int = int(os.environ.get("BENCH_WRK_THREADS", "2"))


# --- the database ------------------------------------------------------------------------


def add_settings_arguments(parser) -> None:
    """The command-line knobs every load benchmark shares (gunicorn and wrk settings)."""
    parser.add_argument("--duration", type=int, default=None)
    parser.add_argument("--warmup", type=int, default=None)
    parser.add_argument("--connections", type=int, default=None)
    parser.add_argument("--worker-class", default=None)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--json", type=Path, default=None, help="write the results here too")


def settings_from(args) -> tuple[ServerSettings, LoadSettings]:
    """Server and load settings: the environment's (see ServerSettings/LoadSettings), then the arguments."""
    server, load = ServerSettings(), LoadSettings()
    for name in ("worker_class", "workers", "threads"):
        if getattr(args, name) is not None:
            setattr(server, name, getattr(args, name))
    for name in ("duration", "warmup", "connections"):
        if getattr(args, name) is not None:
            setattr(load, name, getattr(args, name))
    return server, load


def require_state() -> dict:
    state = load_state()
    if not state:
        raise SystemExit("no bench database: run bench/generate.py first")
    return state


def print_results(results: dict, path: Path | None) -> None:
    text = json.dumps(results, indent=2)
    print(text)
    if path:
        path.write_text(text)


def dsn(dbname: str | None = None) -> str:
    return f"{PG_DSN} dbname={dbname or BENCH_DB}"


def sqlalchemy_url(dbname: str | None = None) -> str:
    """DATABASE_URL for the app (postgresql+psycopg://user@host:port/db) built from the DSN."""
    from psycopg.conninfo import conninfo_to_dict

    parts = conninfo_to_dict(PG_DSN)
    user = parts.get("user", "postgres")
    password = f":{parts['password']}" if parts.get("password") else ""
    host = parts.get("host", "127.0.0.1")
    port = parts.get("port", "5432")
    return f"postgresql+psycopg://{user}{password}@{host}:{port}/{dbname or BENCH_DB}"


def connect(dbname: str | None = None, autocommit: bool = True):
    import psycopg

    return psycopg.connect(dsn(dbname), autocommit=autocommit)


def app_env(**extra) -> dict:
    """Environment for gunicorn / flask against the bench database."""
    env = dict(os.environ)
    env.update(
        # tagged, so the CPU meter counts only the backends of the server under test
        DATABASE_URL=sqlalchemy_url() + f"?application_name={APP_NAME}",
        RATELIMIT_ENABLED="false",
        SHELFSIDE_ENV="production",
        SECRET_KEY="bench-secret-key-not-for-production",
        SHELFSIDE_INSTANCE_PATH=str(STATE_DIR / "instance"),
        PYTHONDONTWRITEBYTECODE="1",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def state_path() -> Path:
    return STATE_DIR / f"{BENCH_DB}.json"


def load_state() -> dict | None:
    try:
        return json.loads(state_path().read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def save_state(state: dict) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    state_path().write_text(json.dumps(state, indent=2))
    os.chmod(state_path(), 0o600)  # it holds the bench database's API key in clear


APP_NAME = f"shelfside-bench-{os.getpid()}"
LOCK_KEY = 0x5E1F51DE  # pg advisory lock: one benchmark run at a time per PostgreSQL server


@contextmanager
def exclusive(what: str, wait: float = 900.0):
    """Hold a PostgreSQL advisory lock for the whole run, so two benchmark runs (two people,
    or ``make bench`` twice) never share the bench database: they would reset each other's
    hot row and serve each other's load.  Child processes of a holder get BENCH_LOCK_HELD=1."""
    if os.environ.get("BENCH_LOCK_HELD") == "1":
        yield
        return
    conn = connect("postgres")
    deadline = time.monotonic() + wait
    announced = False
    try:
        while not conn.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,)).fetchone()[0]:
            if time.monotonic() > deadline:
                raise SystemExit(f"{what}: another benchmark run still holds the bench lock after {wait:.0f}s; giving up")
            if not announced:
                log(f"{what}: another benchmark run is in progress on this PostgreSQL server; waiting for it to finish")
                announced = True
            time.sleep(2)
        os.environ["BENCH_LOCK_HELD"] = "1"
        try:
            yield
        finally:
            os.environ.pop("BENCH_LOCK_HELD", None)
    finally:
        conn.close()  # ends the session, which releases the advisory lock


# --- gunicorn ----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 60.0, headers: dict | None = None) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            request = urllib.request.Request(url, headers=headers or {})
            with urllib.request.urlopen(request, timeout=5) as answer:
                if answer.status < 500:
                    return
        except Exception as exc:
            last = exc
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout}s: {last}")


@dataclass
class Server:
    name: str
    app: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@contextmanager
def gunicorn(
    name: str,
    app: str,
    settings: ServerSettings,
    env: dict,
    pythonpath: str | None = None,
    health: str = "/healthz",
    extra_args: list[str] | None = None,
):
    """Serve ``app`` (a gunicorn app spec) on a free port; stop it (and only it) afterwards."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    port = free_port()
    log = RESULTS_DIR / f"gunicorn-{name}.log"
    cmd = [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", *settings.args(), "--log-level", "warning", "--backlog", "2048"]
    if pythonpath:
        cmd += ["--pythonpath", pythonpath]
    cmd += list(extra_args or [])
    cmd.append(app)
    with open(log, "w") as handle:
        process = subprocess.Popen(cmd, cwd=APP_ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)
    server = Server(name, app, port, process, log)
    try:
        wait_http(server.base + health, timeout=90)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)  # gunicorn's graceful stop; the arbiter stops its workers
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


# --- CPU accounting ----------------------------------------------------------------------

_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICK  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


class CpuMeter:
    """CPU seconds used by a gunicorn server (master and workers) and by its PostgreSQL
    backends (tagged with APP_NAME in DATABASE_URL), between ``start()`` and ``stop()``.

    Divided by the requests served, this is a cost per request that holds up on a busy
    machine far better than requests/s: other people's processes are not counted."""

    def __init__(self, server_pid: int | None):
        self.server_pid = server_pid

    def _pids(self) -> tuple[list[int], list[int]]:
        app = [self.server_pid, *_children(self.server_pid)] if self.server_pid else []
        try:
            with connect("postgres") as conn:
                backends = [
                    r[0] for r in conn.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND application_name = %s", (BENCH_DB, APP_NAME))
                ]
        except Exception:
            backends = []
        return app, backends

    def _sample(self) -> dict[int, float]:
        app, backends = self._pids()
        self._app_pids = set(app)
        return {pid: _cpu_seconds(pid) for pid in app + backends}

    def start(self) -> None:
        self.before = self._sample()

    def stop(self) -> dict:
        after = self._sample()
        app = db = 0.0
        for pid, seconds in after.items():
            used = seconds - self.before.get(pid, 0.0)
            if pid in self._app_pids:
                app += used
            else:
                db += used
        return {"app_cpu_s": round(app, 2), "db_cpu_s": round(db, 2)}


# --- wrk ---------------------------------------------------------------------------------


@dataclass
class WrkResult:
    label: str
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    socket_errors: dict
    non_2xx: int
    statuses: dict = field(default_factory=dict)
    bytes: int = 0
    app_cpu_ms_per_request: float | None = None
    db_cpu_ms_per_request: float | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def run_wrk(
    label: str,
    url: str,
    script: Path,
    script_args: list[str],
    load: LoadSettings,
    duration: int | None = None,
    connections: int | None = None,
    server_pid: int | None = None,
) -> WrkResult:
    """Run wrk with a Lua script whose ``done()`` prints one JSON line prefixed ``WRK_JSON``.

    With ``server_pid`` the server's (and its database backends') CPU time per request is measured too."""
    cmd = [
        WRK,
        "-t",
        str(load.wrk_threads),
        "-c",
        str(connections or load.connections),
        "-d",
        f"{duration or load.duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(script),
        url,
        "--",
        *script_args,
    ]
    meter = CpuMeter(server_pid) if server_pid else None
    if meter:
        meter.start()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    cpu = meter.stop() if meter else None
    (RESULTS_DIR / f"wrk-{label}.txt").write_text(out)
    match = re.search(r"^WRK_JSON (.*)$", out, re.M)
    if not match:
        raise RuntimeError(f"wrk printed no summary:\n{out}")
    data = json.loads(match.group(1))
    duration_s = data["duration_us"] / 1e6
    served = max(1, data["requests"])
    return WrkResult(
        label=label,
        requests=data["requests"],
        duration_s=duration_s,
        rps=data["requests"] / duration_s,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        mean_ms=data["mean_us"] / 1000,
        socket_errors=data["errors"],
        non_2xx=data["errors"].get("status", 0),
        statuses=data.get("statuses", {}),
        bytes=data.get("bytes", 0),
        app_cpu_ms_per_request=round(cpu["app_cpu_s"] * 1000 / served, 2) if cpu else None,
        db_cpu_ms_per_request=round(cpu["db_cpu_s"] * 1000 / served, 2) if cpu else None,
    )


# --- the machine -------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory_kb = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
    except (OSError, AttributeError):
        memory_kb = 0
    try:
        with connect("postgres") as conn:
            pg = conn.execute("SHOW server_version").fetchone()[0]
            pg_settings = {
                name: conn.execute("SELECT current_setting(%s)", (name,)).fetchone()[0]
                for name in ("shared_buffers", "synchronous_commit", "fsync", "max_connections", "work_mem", "max_parallel_workers_per_gather")
            }
    except Exception as exc:
        pg, pg_settings = f"unreachable ({exc.__class__.__name__})", {}
    wrk_version = [
        re.sub(r"\s*Copyright.*", "", line) for line in subprocess.run([WRK, "--version"], capture_output=True, text=True).stdout.splitlines()[:1]
    ]
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": sys.version.split()[0],
        "postgresql": pg,
        "postgresql_settings": pg_settings,
        "wrk": wrk_version[0].strip() if wrk_version else "?",
        "loadavg_at_start": os.getloadavg(),
    }


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", flush=True)
