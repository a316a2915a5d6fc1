"""Kiosk activation links work once and never reach a log; operators and the demo hand out fresh ones."""

import logging
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests

from accounts import KioskDevice, register_kiosk, revoke_kiosk
from core import db

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def link(create_location):
    create_location("S1")
    device, token = register_kiosk("S1", "Entrance")
    device_id = device.id  # read before the commit: reading after it would open a transaction the live server waits for
    db.session.commit()
    return f"/kiosk/activate/{token}", device_id


def test_a_link_works_once_and_the_screen_it_set_up_keeps_working(app, link):
    path, _ = link
    first, second = app.test_client(), app.test_client()
    assert first.get(path).status_code == 302 and first.get("/kiosk/").status_code == 200
    refused = second.get(path)
    assert refused.status_code == 403 and "isn" in refused.get_data(as_text=True) and second.get("/kiosk/").status_code == 403
    assert first.get("/kiosk/").status_code == 200


def test_of_browsers_racing_with_one_link_exactly_one_gets_the_kiosk(live_server, link):
    path, _ = link
    codes, lock = [], threading.Lock()

    def activate():
        code = requests.get(live_server + path, allow_redirects=False, timeout=30).status_code
        with lock:
            codes.append(code)

    threads = [threading.Thread(target=activate) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(codes) == [302] + [403] * 7


def test_kiosk_link_issues_a_fresh_link_and_the_old_one_stops_working(app, link):
    old_path, device_id = link
    runner = app.test_cli_runner()
    result = runner.invoke(args=["kiosk-link", str(device_id)])
    assert result.exit_code == 0, result.output
    new_path = result.output.strip().splitlines()[-1]
    assert new_path.startswith("/kiosk/activate/kio_") and new_path != old_path
    assert app.test_client().get(old_path).status_code == 403
    assert app.test_client().get(new_path).status_code == 302
    assert "link used" in runner.invoke(args=["list-kiosks"]).output
    revoke_kiosk(device_id)
    db.session.commit()
    refused = runner.invoke(args=["kiosk-link", str(device_id)])
    assert refused.exit_code != 0 and "revoked" in refused.output
    assert runner.invoke(args=["kiosk-link", "999"]).exit_code != 0


def test_demo_info_renews_the_demo_kiosk_links_once_they_are_used(app):
    from web import demo

    demo.seed(products=12)
    db.session.commit()
    runner = app.test_cli_runner()
    berlin = f"/kiosk/activate/{demo.DEMO_KIOSK_TOKENS['BER-MITTE']}"
    assert berlin in runner.invoke(args=["demo-info"]).output
    assert app.test_client().get(berlin).status_code == 302
    assert berlin not in demo.describe(8000), "a used link is not offered"
    assert app.test_client().get(berlin).status_code == 403
    assert berlin in runner.invoke(args=["demo-info"]).output  # what `make run` prints: working links again
    assert app.test_client().get(berlin).status_code == 302


def test_the_development_server_log_shows_no_activation_token(live_server, link, caplog):
    path, _ = link
    with caplog.at_level(logging.INFO, logger="werkzeug"):
        assert requests.get(live_server + path, allow_redirects=False, timeout=10).status_code == 302
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "/kiosk/activate/…" in logged and path not in logged and path.rsplit("/", 1)[1] not in logged


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_gunicorns_access_log_shows_no_activation_token(tmp_path):
    """scripts/serve's gunicorn settings, with a registered kiosk on a database of its own."""
    from web import create_app
    from web.config import TestConfig

    url = f"sqlite:///{tmp_path}/kiosk.db"
    served = create_app(type("Served", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": url}))
    with served.app_context():
        db.create_all()
        from inventory import Location

        db.session.add(Location(code="S1", name="Store S1", kind="store"))
        db.session.flush()
        _, token = register_kiosk("S1", "Entrance")
        db.session.commit()
        db.session.remove()
    port, log = _free_port(), tmp_path / "access.log"
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "gunicorn-test", "SHELFSIDE_INSTANCE_PATH": str(tmp_path)}
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--limit-request-line",
            "8190",
            "--access-logfile",
            str(log),
            "--logger-class",
            "web.access_log.AccessLogger",
            "web:create_app()",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                answer = requests.get(f"http://127.0.0.1:{port}/kiosk/activate/{token}", allow_redirects=False, timeout=5)
                break
            except requests.ConnectionError:
                if server.poll() is not None:
                    pytest.fail("gunicorn stopped: " + server.stderr.read().decode()[-2000:])
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        assert answer.status_code == 302
    finally:
        server.terminate()
        server.wait(10)
    logged = log.read_text()
    assert '"GET /kiosk/activate/… HTTP/1.1" 302' in logged, logged
    assert token not in logged and token[4:] not in logged
    with served.app_context():
        assert db.session.query(KioskDevice).one().token_used_at is not None
