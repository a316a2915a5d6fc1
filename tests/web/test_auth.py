"""Staff sign-in: sessions, cookies, CSRF, rate limits; staff sessions on the API."""

import pytest

from accounts import create_staff
from core import db
from tests.helpers import run_rate_limited


@pytest.fixture
def associate(create_location):
    create_location("S1")
    staff = create_staff("ana@example.com", "Ana", "associate", "correct-horse", ["S1"])
    db.session.commit()
    return staff


def test_sign_in_sets_an_httponly_lax_session_cookie_and_opens_the_tablet(client, associate):
    response = client.post("/login", data={"email": "ANA@example.com", "password": "correct-horse"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/tablet/")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Expires=" not in cookie  # a staff session ends with the browser


def test_wrong_password_is_refused_with_a_message(client, associate):
    response = client.post("/login", data={"email": "ana@example.com", "password": "wrong"})
    assert response.status_code == 401
    assert b"don&#39;t match" in response.data or b"don't match" in response.data


def test_inactive_staff_cannot_sign_in(client, associate):
    associate.active = False
    db.session.commit()
    assert client.post("/login", data={"email": "ana@example.com", "password": "correct-horse"}).status_code == 401


def test_next_parameter_cannot_redirect_off_site(client, associate):
    response = client.post("/login?next=https://evil.example/", data={"email": "ana@example.com", "password": "correct-horse"})
    assert response.headers["Location"].endswith("/tablet/")


def test_logout_needs_post_and_ends_the_session(client, associate):
    client.post("/login", data={"email": "ana@example.com", "password": "correct-horse"})
    assert client.get("/logout").status_code == 405
    client.post("/logout")
    assert client.get("/tablet/").status_code == 302


def test_passwords_are_stored_hashed(associate):
    assert "correct-horse" not in associate.password_hash
    assert associate.password_hash.startswith(("scrypt:", "pbkdf2:"))


def test_a_signed_in_associate_can_read_availability_but_not_write_stock(client, associate, create_product):
    create_product(skus=("TEE-M",))
    client.post("/login", data={"email": "ana@example.com", "password": "correct-horse"})
    assert client.get("/api/v1/availability?sku=TEE-M&store=S1").status_code == 200
    response = client.post(
        "/api/v1/stock/movements", json={"store": "S1", "sku": "TEE-M", "kind": "receive", "quantity": 1}, headers={"Idempotency-Key": "a"}
    )
    assert response.status_code == 403


def _form_token(test_client):
    page = test_client.get("/login").get_data(as_text=True)
    return page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]


def _session_token(test_client):
    """The token a page would embed for this session (what Flask-WTF's generate_csrf signs)."""
    from itsdangerous import URLSafeTimedSerializer

    with test_client.session_transaction() as stored:
        raw = stored["csrf_token"]
    return URLSafeTimedSerializer(test_client.application.secret_key, salt="wtf-csrf-token").dumps(raw)


def test_forms_and_session_api_writes_need_the_csrf_token(csrf_client, create_location, create_product):
    create_location("S1")
    create_product(skus=("TEE-M",))
    create_staff("max@example.com", "Max", "manager", "correct-horse", ["S1"])
    db.session.commit()
    credentials = {"email": "max@example.com", "password": "correct-horse"}
    assert csrf_client.post("/login", data=credentials).status_code == 400  # no token: refused before the form
    assert csrf_client.post("/login", data={**credentials, "csrf_token": _form_token(csrf_client)}).status_code == 302
    csrf_client.get("/tablet/")  # every staff page carries the session's token (meta csrf-token)
    body = {"store": "S1", "sku": "TEE-M", "kind": "receive", "quantity": 1}
    refused = csrf_client.post("/api/v1/stock/movements", json=body, headers={"Idempotency-Key": "x"})
    assert refused.status_code == 400 and "CSRF" in refused.json["error"]["message"]
    accepted = csrf_client.post("/api/v1/stock/movements", json=body, headers={"Idempotency-Key": "x", "X-CSRFToken": _session_token(csrf_client)})
    assert accepted.status_code == 201, accepted.json


def test_login_is_rate_limited(tmp_path):
    """Runs in its own process: the limiter is a process-wide extension, disabled for the rest of the suite."""
    line = run_rate_limited(
        tmp_path,
        'LOGIN_RATE_LIMIT = "5 per minute"\n',
        """
        codes = [client.post("/login", data={"email": "a@b.c", "password": "nope"}).status_code for _ in range(7)]
        last = client.post("/login", data={"email": "a@b.c", "password": "nope"})
        print(codes, last.status_code, last.headers.get("Retry-After"))
        """,
    )
    assert line.startswith("[401, 401, 401, 401, 401, 429, 429] 429 "), line
    assert 0 < int(line.rsplit(" ", 1)[1]) <= 60, line  # Retry-After, in seconds


def test_production_cookies_are_secure(monkeypatch):
    import importlib

    import web.config

    monkeypatch.setenv("SHELFSIDE_ENV", "production")
    reloaded = importlib.reload(web.config)
    try:
        assert reloaded.Config.SESSION_COOKIE_SECURE is True
        assert reloaded.Config.WEBHOOK_REQUIRE_HTTPS is True
    finally:
        monkeypatch.delenv("SHELFSIDE_ENV")
        importlib.reload(web.config)


@pytest.fixture
def hashes(monkeypatch):
    """Counts password hash computations (werkzeug's one internal function behind generate and check)."""
    import werkzeug.security

    counted = []
    real = werkzeug.security._hash_internal

    def counting(*args, **kwargs):
        counted.append(args[0])
        return real(*args, **kwargs)

    monkeypatch.setattr(werkzeug.security, "_hash_internal", counting)
    return counted


def test_an_unknown_email_costs_one_password_hash_like_a_known_one(associate, hashes):
    from accounts import authenticate_staff

    outcomes = {}
    for case, email, password in [
        ("unknown email", "nobody@example.com", "correct-horse"),
        ("wrong password", "ana@example.com", "wrong"),
        ("right password", "ana@example.com", "correct-horse"),
    ]:
        hashes.clear()
        outcomes[case] = (authenticate_staff(email, password) is not None, len(hashes))
    associate.active = False
    db.session.commit()
    hashes.clear()
    outcomes["inactive account"] = (authenticate_staff("ana@example.com", "correct-horse") is not None, len(hashes))
    assert outcomes == {"unknown email": (False, 1), "wrong password": (False, 1), "right password": (True, 1), "inactive account": (False, 1)}


def test_the_login_limit_holds_across_processes_on_the_embedded_database(tmp_path):
    """Two processes (as two gunicorn workers) on one SQLite file, no Redis: one count for the client."""
    limits = 'LOGIN_RATE_LIMIT = "3 per minute"\nRATELIMIT_STORAGE_URI = "database://"\n'
    attempts = """
        print([client.post("/login", data={"email": "a@b.c", "password": "nope"}).status_code for _ in range(2)])
        """
    assert run_rate_limited(tmp_path, limits, attempts) == "[401, 401]"
    assert run_rate_limited(tmp_path, limits, attempts) == "[401, 429]"


def test_redis_keeps_the_rate_limits_when_configured(monkeypatch):
    import importlib

    import web.config

    monkeypatch.setenv("REDIS_URL", "redis://redis.internal:6379/0")
    try:
        assert importlib.reload(web.config).Config.RATELIMIT_STORAGE_URI == "redis://redis.internal:6379/0"
        monkeypatch.delenv("REDIS_URL")
        assert importlib.reload(web.config).Config.RATELIMIT_STORAGE_URI == "database://"
    finally:
        importlib.reload(web.config)
