"""Authentication, scopes and the error envelope on every kind of API error."""

from core import db


def envelope(response):
    body = response.get_json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


def test_no_key_is_401_in_the_envelope(client):
    response = client.get("/api/v1/stores")
    assert response.status_code == 401
    assert envelope(response)["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == "Bearer"


def test_unknown_key_is_401(client):
    response = client.get("/api/v1/stores", headers={"Authorization": "Bearer ssk_nope"})
    assert response.status_code == 401


def test_missing_scope_is_403(client, create_key):
    key = create_key("inventory:read")
    response = client.post("/api/v1/reservations", json={}, headers={"Authorization": f"Bearer {key}", "Idempotency-Key": "k"})
    assert response.status_code == 403
    assert envelope(response)["details"] == {"required_scope": "reservations:write"}


def test_revoked_key_is_401(client, create_key):
    from accounts import ApiKey
    from core import clock

    key = create_key("inventory:read")
    db.session.query(ApiKey).update({"revoked_at": clock.now()})
    db.session.commit()
    assert client.get("/api/v1/stores", headers={"Authorization": f"Bearer {key}"}).status_code == 401


def test_only_the_hash_of_a_key_is_stored(create_key):
    from accounts import ApiKey

    key = create_key("inventory:read")
    stored = db.session.query(ApiKey).one()
    assert key not in (stored.key_hash, stored.prefix)


def test_404_405_and_bad_json_use_the_envelope(partner):
    assert envelope(partner.get("/api/v1/nothing-here"))["code"] == "not_found"
    response = partner.delete("/api/v1/stores")
    assert response.status_code == 405 and envelope(response)["code"] == "method_not_allowed"
    response = partner.post("/api/v1/stock/movements", data="{not json", key="k1", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and envelope(response)["code"] == "invalid_request"


def test_500_uses_the_envelope_and_changes_nothing(app, partner, create_location, monkeypatch):
    import inventory.stock as stock
    from inventory import Location

    create_location("S1")

    def boom(*args, **kwargs):
        db.session.add(Location(code="GHOST", name="half-done", kind="store"))
        db.session.flush()
        raise RuntimeError("the worker died mid-request")

    monkeypatch.setattr(stock, "get_variant", boom)
    response = partner.post("/api/v1/stock/movements", json={"store": "S1", "sku": "X", "kind": "receive", "quantity": 1}, key="k500")
    assert response.status_code == 500
    assert envelope(response)["code"] == "internal_error"
    assert db.session.query(Location).filter_by(code="GHOST").count() == 0


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json["database"] == "ok"


def test_openapi_document_describes_every_api_route(app, client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    documented = {(path, method.upper()) for path, ops in spec["paths"].items() for method in ops if method != "parameters"}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api-docs"):
            continue
        path = rule.rule.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, f"{method} {path} missing from the OpenAPI document"
