"""Staff sessions kept server-side: sign-out and deactivation end every copy, idle sessions end; staff tokens."""

from datetime import timedelta

import pytest

from accounts import StaffSession, create_staff, deactivate_staff
from core import clock, db
from tests.helpers import run_rate_limited

PASSWORD = "correct-horse"


@pytest.fixture
def staff(create_location, create_product):
    create_location("S1")
    create_product(skus=("TEE-M",))
    member = create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    db.session.commit()
    return member


@pytest.fixture
def time_machine(monkeypatch):
    """Moves core.clock: time_machine.advance(hours=3)."""

    class Clock:
        now = clock.now()

        def advance(self, **delta):
            Clock.now += timedelta(**delta)

    monkeypatch.setattr(clock, "now", lambda: Clock.now)
    return Clock()


def signed_in(app, email="ana@example.com"):
    client = app.test_client()
    assert client.post("/login", data={"email": email, "password": PASSWORD}).status_code == 302
    return client


def copy_of(app, client):
    """A second browser holding a copy of ``client``'s session cookie."""
    thief = app.test_client()
    thief.set_cookie("session", client.get_cookie("session").value)
    return thief


def is_signed_in(client) -> bool:
    response = client.get("/tablet/")
    assert response.status_code in (200, 302), response.status_code
    return response.status_code == 200


def test_a_copied_cookie_stops_working_when_its_owner_signs_out(app, staff):
    client = signed_in(app)
    thief = copy_of(app, client)
    assert is_signed_in(thief) and thief.get("/api/v1/stores").status_code == 200
    client.post("/logout")
    assert not is_signed_in(client)
    assert thief.get("/tablet/").headers["Location"].startswith("/login")
    response = thief.get("/api/v1/stores")
    assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"


def test_deactivating_a_staff_member_ends_their_live_session(app, staff):
    client = signed_in(app)
    assert is_signed_in(client)
    result = app.test_cli_runner().invoke(args=["deactivate-staff", "ana@example.com"])
    assert result.exit_code == 0 and "deactivated ana@example.com" in result.output
    assert not is_signed_in(client)
    assert client.get("/api/v1/stores").status_code == 401


def test_an_account_switched_off_directly_in_the_database_is_signed_out_too(app, staff):
    client = signed_in(app)
    staff.active = False
    db.session.commit()
    assert not is_signed_in(client)


def test_a_session_idle_longer_than_a_working_day_ends(app, staff, time_machine):
    client = signed_in(app)
    time_machine.advance(hours=app.config["STAFF_SESSION_IDLE_HOURS"], minutes=1)
    assert not is_signed_in(client)


def test_a_session_in_regular_use_does_not_end(app, staff, time_machine):
    client = signed_in(app)
    for _ in range(6):  # 18 hours in all, never more than 3 hours apart
        time_machine.advance(hours=3)
        assert is_signed_in(client)


def test_the_kiosk_keeps_its_year_long_device_session(app, staff, time_machine):
    from accounts import register_kiosk

    _, token = register_kiosk("S1", "Entrance")
    db.session.commit()
    kiosk = app.test_client()
    kiosk.get(f"/kiosk/activate/{token}")
    time_machine.advance(days=200)
    assert kiosk.get("/kiosk/").status_code == 200


def test_signing_in_twice_gives_two_sessions_and_signing_out_one_leaves_the_other(app, staff):
    tablet, desktop = signed_in(app), signed_in(app)
    tablet.post("/logout")
    assert is_signed_in(desktop) and not is_signed_in(tablet)


# --- staff tokens ---------------------------------------------------------------------------------


def new_token(client, email="ana@example.com", password=PASSWORD, **extra):
    return client.post("/api/v1/staff/tokens", json={"email": email, "password": password, **extra})


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def test_a_staff_token_is_issued_with_its_expiry_and_who_it_belongs_to(client, staff):
    response = new_token(client, device="Till 2")
    assert response.status_code == 201, response.json
    body = response.json
    assert body["token"].startswith("sst_") and not body["token"].startswith("ssk_")
    assert body["expires_at"].endswith("+00:00")
    assert body["staff"] == {"id": staff.id, "name": "Ana", "role": "associate", "stores": ["S1"]}
    stored = db.session.query(StaffSession).filter_by(kind="token").one()
    assert stored.device == "Till 2" and body["token"] not in (stored.secret_hash, stored.device)


def test_a_wrong_password_or_an_unknown_email_gets_no_token(client, staff):
    for email, password in [("ana@example.com", "wrong"), ("nobody@example.com", PASSWORD)]:
        response = new_token(client, email, password)
        assert response.status_code == 401 and response.json["error"]["code"] == "unauthorized"
    assert new_token(client, password="").status_code == 400
    assert db.session.query(StaffSession).count() == 0


def test_a_staff_token_acts_with_the_staff_members_role(client, staff):
    token = new_token(client).json["token"]
    assert client.get("/api/v1/availability?sku=TEE-M&store=S1", headers=bearer(token)).status_code == 200
    movement = {"store": "S1", "sku": "TEE-M", "kind": "receive", "quantity": 1}
    refused = client.post("/api/v1/stock/movements", json=movement, headers={**bearer(token), "Idempotency-Key": "m1"})
    assert refused.status_code == 403 and refused.json["error"]["details"] == {"required_scope": "inventory:write"}


def test_revoking_the_current_token_stops_it_at_once(client, staff):
    token = new_token(client).json["token"]
    assert client.delete("/api/v1/staff/tokens/current", headers=bearer(token)).status_code == 204
    response = client.get("/api/v1/stores", headers=bearer(token))
    assert response.status_code == 401 and "staff token" in response.json["error"]["message"]
    assert client.delete("/api/v1/staff/tokens/current").status_code == 401


def test_a_browser_session_cannot_revoke_a_token_it_does_not_carry(app, staff):
    assert signed_in(app).delete("/api/v1/staff/tokens/current").status_code == 403


def test_deactivation_ends_staff_tokens(client, staff):
    token = new_token(client).json["token"]
    deactivate_staff("ana@example.com")
    db.session.commit()
    assert client.get("/api/v1/stores", headers=bearer(token)).status_code == 401


def test_a_staff_token_ends_at_its_expiry_even_in_regular_use(app, client, staff, time_machine):
    token = new_token(client).json["token"]
    lifetime, elapsed = app.config["STAFF_TOKEN_HOURS"], 0
    while elapsed + 3 < lifetime:
        time_machine.advance(hours=3)
        elapsed += 3
        assert client.get("/api/v1/stores", headers=bearer(token)).status_code == 200
    time_machine.advance(hours=lifetime - elapsed)
    assert client.get("/api/v1/stores", headers=bearer(token)).status_code == 401


def test_an_idle_staff_token_ends(app, client, staff, time_machine):
    token = new_token(client).json["token"]
    time_machine.advance(hours=app.config["STAFF_SESSION_IDLE_HOURS"], minutes=1)
    assert client.get("/api/v1/stores", headers=bearer(token)).status_code == 401


def test_token_requests_share_the_login_rate_limit(tmp_path):
    """Runs in its own process: the limiter is a process-wide extension, disabled for the rest of the suite."""
    line = run_rate_limited(
        tmp_path,
        'LOGIN_RATE_LIMIT = "3 per minute"\n',
        """
        body = {"email": "a@b.c", "password": "nope"}
        codes = [client.post("/login", data=body).status_code, client.post("/api/v1/staff/tokens", json=body).status_code]
        codes += [client.post("/api/v1/staff/tokens", json=body).status_code for _ in range(2)]
        last = client.post("/login", data=body)
        print(codes, last.status_code, codes and client.post("/api/v1/staff/tokens", json=body).json["error"]["code"])
        """,
    )
    assert line == "[401, 401, 401, 429] 429 rate_limited", line
