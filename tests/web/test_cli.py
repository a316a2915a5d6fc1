"""The operator's CLI."""

from datetime import timedelta

import inventory
from accounts import ApiKey, find_api_key
from core import clock, db


def test_create_api_key_prints_the_key_alone_on_its_last_line_and_stores_its_hash(app):
    result = app.test_cli_runner().invoke(args=["create-api-key", "shop", "--scope", "inventory:read", "--scope", "reservations:write"])
    assert result.exit_code == 0, result.output
    key = result.output.strip().splitlines()[-1]
    assert key.startswith("ssk_") and " " not in key
    record = find_api_key(key)
    assert record.scopes == ["inventory:read", "reservations:write"]
    assert db.session.query(ApiKey).filter(ApiKey.key_hash == key).count() == 0


def test_create_api_key_with_an_unknown_scope_fails_and_creates_nothing(app):
    result = app.test_cli_runner().invoke(args=["create-api-key", "shop", "--scope", "everything"])
    assert result.exit_code != 0 and "unknown scope" in result.output
    assert db.session.query(ApiKey).count() == 0


def test_create_staff(app, create_location):
    create_location("S1")
    result = app.test_cli_runner().invoke(
        args=["create-staff", "--email", "Lea@Example.com", "--name", "Lea", "--role", "manager", "--store", "S1", "--password", "long-enough-pw"]
    )
    assert result.exit_code == 0, result.output
    assert "manager lea@example.com for S1" in result.output
    bad = app.test_cli_runner().invoke(
        args=["create-staff", "--email", "x@example.com", "--role", "associate", "--store", "NOPE", "--password", "long-enough-pw"]
    )
    assert bad.exit_code != 0 and "unknown store" in bad.output


def test_expire_reservations_releases_overdue_holds(app, create_location, create_product, set_stock, monkeypatch):
    create_location("S1")
    create_product(skus=("CAP-1",))
    set_stock("S1", "CAP-1", 2)
    overdue = inventory.reserve("S1", [{"sku": "CAP-1", "quantity": 2}], "online_order", expires_in=30).public_id
    db.session.commit()
    later = clock.now() + timedelta(minutes=5)
    monkeypatch.setattr(clock, "now", lambda: later)
    result = app.test_cli_runner().invoke(args=["expire-reservations"])
    assert result.exit_code == 0 and "expired 1 reservation" in result.output
    db.session.expire_all()
    assert inventory.get_reservation(overdue).status == "expired"
    assert inventory.availability(["CAP-1"], "S1")[0][0]["available"] == 2


def test_list_and_revoke_an_api_key_by_id_or_prefix(app, client):
    runner = app.test_cli_runner()
    key = runner.invoke(args=["create-api-key", "shop", "--scope", "inventory:read"]).output.strip().splitlines()[-1]
    other = runner.invoke(args=["create-api-key", "pos", "--scope", "inventory:read"]).output.strip().splitlines()[-1]
    assert client.get("/api/v1/stores", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    listed = runner.invoke(args=["list-api-keys"])
    assert listed.exit_code == 0 and f"{key[:10]}…  shop  [inventory:read]" in listed.output and listed.output.count("active") == 2

    revoked = runner.invoke(args=["revoke-api-key", key[:10]])
    assert revoked.exit_code == 0, revoked.output
    db.session.expire_all()
    assert find_api_key(key) is None and find_api_key(other) is not None
    answer = client.get("/api/v1/stores", headers={"Authorization": f"Bearer {key}"})
    assert answer.status_code == 401 and answer.json["error"]["code"] == "unauthorized"
    assert "revoked" in runner.invoke(args=["list-api-keys"]).output

    by_id = runner.invoke(args=["revoke-api-key", str(find_api_key(other).id)])
    assert by_id.exit_code == 0
    missing = runner.invoke(args=["revoke-api-key", "ssk_nothing"])
    assert missing.exit_code != 0 and "no API key" in missing.output


def test_list_and_revoke_a_kiosk(app, client, create_location):
    create_location("S1")
    runner = app.test_cli_runner()
    path = runner.invoke(args=["create-kiosk", "S1", "--name", "Entrance"]).output.strip().splitlines()[-1]
    assert client.get(path).status_code == 302 and client.get("/kiosk/").status_code == 200
    listed = runner.invoke(args=["list-kiosks"]).output
    assert "S1  Entrance" in listed and "active" in listed
    device_id = listed.split()[0]
    assert runner.invoke(args=["revoke-kiosk", device_id]).exit_code == 0
    assert client.get("/kiosk/").status_code == 403
    missing = runner.invoke(args=["revoke-kiosk", "999"])
    assert missing.exit_code != 0 and "no kiosk" in missing.output
