"""Live stock endpoints against SPEC §3: availability, reservations, movements, counts, transfers, feed."""

import pytest

from core import db


@pytest.fixture
def shop(create_location, create_product, set_stock):
    create_location("S1")
    create_location("S2")
    create_location("WH", kind="warehouse")
    create_product(skus=("JKT-S", "JKT-M"), price=12900)
    set_stock("S1", "JKT-S", 3)
    set_stock("S1", "JKT-M", 1)
    set_stock("WH", "JKT-M", 40)


def test_availability_for_one_store_lists_unknown_skus(partner, shop):
    body = partner.get("/api/v1/availability?sku=JKT-S&sku=JKT-M&sku=NOPE&store=S1").json
    assert body["items"] == [
        {"sku": "JKT-S", "store": "S1", "on_hand": 3, "reserved": 0, "available": 3},
        {"sku": "JKT-M", "store": "S1", "on_hand": 1, "reserved": 0, "available": 1},
    ]
    assert body["unknown"] == ["NOPE"]


def test_availability_across_every_location(partner, shop):
    items = partner.get("/api/v1/availability?sku=JKT-M").json["items"]
    assert {(i["store"], i["available"]) for i in items} == {("S1", 1), ("S2", 0), ("WH", 40)}


def test_availability_input_errors(partner, shop):
    assert partner.get("/api/v1/availability").status_code == 400
    for bad, field in (("sku=", "sku.0"), ("sku=JKT-M&sku=" + "X" * 101, "sku.1")):
        response = partner.get(f"/api/v1/availability?{bad}&store=S1")
        assert response.status_code == 400, bad
        assert list(response.json["error"]["details"]) == [field], response.json
    too_many = "&".join(f"sku=X{n}" for n in range(201))
    response = partner.get(f"/api/v1/availability?{too_many}")
    assert response.status_code == 400 and "sku" in response.json["error"]["details"]
    response = partner.get("/api/v1/availability?sku=JKT-M&store=NOWHERE")
    assert response.status_code == 400 and "store" in response.json["error"]["details"]


def reserve(partner, key, lines, **extra):
    return partner.post(
        "/api/v1/reservations",
        json={"store": "S1", "lines": lines, "reference": "WEB-1001", "kind": "online_order", "expires_in": 600, **extra},
        key=key,
    )


def test_reserve_then_commit(partner, shop):
    response = reserve(partner, "r1", [{"sku": "JKT-S", "quantity": 2}])
    assert response.status_code == 201, response.json
    body = response.json
    assert body["status"] == "held" and body["id"].startswith("rsv_")
    assert body["expires_at"].endswith("+00:00")
    assert body["lines"] == [{"sku": "JKT-S", "quantity": 2}]
    committed = partner.post(f"/api/v1/reservations/{body['id']}/commit")
    assert committed.status_code == 200 and committed.json["status"] == "committed"
    item = partner.get("/api/v1/availability?sku=JKT-S&store=S1").json["items"][0]
    assert (item["on_hand"], item["reserved"], item["available"]) == (1, 0, 1)
    # a retried commit answers the same, never takes stock twice
    assert partner.post(f"/api/v1/reservations/{body['id']}/commit").json["status"] == "committed"
    assert partner.get("/api/v1/availability?sku=JKT-S&store=S1").json["items"][0]["on_hand"] == 1


def test_release_returns_the_units(partner, shop):
    body = reserve(partner, "r2", [{"sku": "JKT-M", "quantity": 1}]).json
    released = partner.post(f"/api/v1/reservations/{body['id']}/release")
    assert released.status_code == 200 and released.json["status"] == "released"
    assert partner.get("/api/v1/availability?sku=JKT-M&store=S1").json["items"][0]["available"] == 1
    assert partner.post(f"/api/v1/reservations/{body['id']}/commit").status_code == 422


def test_insufficient_stock_is_409_with_every_short_line_and_holds_nothing(partner, shop):
    response = reserve(partner, "r3", [{"sku": "JKT-S", "quantity": 4}, {"sku": "JKT-M", "quantity": 1}])
    assert response.status_code == 409
    error = response.json["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"]["lines"] == [{"sku": "JKT-S", "requested": 4, "available": 3}]
    assert partner.get("/api/v1/availability?sku=JKT-M&store=S1").json["items"][0]["reserved"] == 0


def test_same_idempotency_key_same_body_answers_the_first_result_once(partner, shop):
    first = reserve(partner, "same", [{"sku": "JKT-S", "quantity": 1}])
    second = reserve(partner, "same", [{"sku": "JKT-S", "quantity": 1}])
    assert first.status_code == second.status_code == 201
    assert first.json == second.json
    assert second.headers.get("Idempotent-Replayed") == "true"
    assert partner.get("/api/v1/availability?sku=JKT-S&store=S1").json["items"][0]["reserved"] == 1


def test_same_idempotency_key_different_body_is_422(partner, shop):
    reserve(partner, "k", [{"sku": "JKT-S", "quantity": 1}])
    response = reserve(partner, "k", [{"sku": "JKT-S", "quantity": 2}])
    assert response.status_code == 422
    assert response.json["error"]["code"] == "idempotency_key_reused"


def test_reservation_without_idempotency_key_is_refused(partner, shop):
    response = partner.post("/api/v1/reservations", json={"store": "S1", "lines": [{"sku": "JKT-S", "quantity": 1}]})
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json["error"]["details"]


def test_reservation_bad_input_names_the_field(partner, shop):
    for body, field in [
        ({"store": "S1", "lines": [{"sku": "JKT-S", "quantity": 0}]}, "lines.0.quantity"),
        ({"store": "S1", "lines": [{"sku": "JKT-S", "quantity": "2"}]}, "lines.0.quantity"),
        ({"store": "S1", "lines": []}, "lines"),
        ({"store": "S1", "lines": [{"sku": "JKT-S", "quantity": 1}], "kind": "gift"}, "kind"),
        ({"store": "S1", "lines": [{"sku": "NOPE", "quantity": 1}]}, "lines.0.sku"),
        ({"lines": [{"sku": "JKT-S", "quantity": 1}]}, "store"),
        ({"store": "S1", "lines": [{"sku": "JKT-S", "quantity": 1}], "expires_in": -5}, "expires_in"),
    ]:
        response = partner.post("/api/v1/reservations", json=body, key=f"bad-{field}-{body.get('kind')}")
        assert response.status_code == 400, (body, response.json)
        assert field in response.json["error"]["details"], (field, response.json)
    assert partner.get("/api/v1/availability?sku=JKT-S&store=S1").json["items"][0]["reserved"] == 0


def test_unknown_reservation_is_404(partner, shop):
    assert partner.post("/api/v1/reservations/rsv_nope/commit").status_code == 404


def test_stock_movements_receive_adjust_count(partner, shop):
    def move(key, **body):
        return partner.post("/api/v1/stock/movements", json={"store": "S2", "sku": "JKT-M", **body}, key=key)

    received = move("m1", kind="receive", quantity=5, reason="delivery 881")
    assert received.status_code == 201
    assert (received.json["on_hand"], received.json["reserved"], received.json["available"]) == (5, 0, 5)
    assert move("m1", kind="receive", quantity=5, reason="delivery 881").json["on_hand"] == 5  # retried: once
    assert move("m2", kind="adjust", quantity=-2, reason="damaged").json["on_hand"] == 3
    counted = move("m3", kind="count", quantity=7, reason="cycle count")
    assert counted.json["on_hand"] == 7 and counted.json["quantity"] == 4 and counted.json["counted"] == 7
    too_far = move("m4", kind="adjust", quantity=-8)
    assert too_far.status_code == 409 and too_far.json["error"]["code"] == "insufficient_stock"
    assert move("m5", kind="receive", quantity=0).status_code == 400
    assert move("m6", kind="steal", quantity=1).status_code == 400
    ledger = partner.get("/api/v1/stock/movements?store=S2&sku=JKT-M").json["items"]
    assert [(m["kind"], m["quantity"], m["on_hand_after"]) for m in ledger] == [("count", 4, 7), ("adjustment", -2, 3), ("receive", 5, 5)]


def test_count_below_held_units_is_refused(partner, shop):
    reserve(partner, "r9", [{"sku": "JKT-S", "quantity": 2}])
    response = partner.post("/api/v1/stock/movements", json={"store": "S1", "sku": "JKT-S", "kind": "count", "quantity": 1}, key="c1")
    assert response.status_code == 409
    assert response.json["error"]["details"]["reserved"] == 2


def test_cycle_count_reports_variance(partner, shop):
    response = partner.post(
        "/api/v1/stock/counts", json={"store": "S1", "lines": [{"sku": "JKT-S", "counted": 2}, {"sku": "JKT-M", "counted": 1}]}, key="cc1"
    )
    assert response.status_code == 201
    assert response.json["lines"] == [
        {"sku": "JKT-S", "expected": 3, "counted": 2, "variance": -1},
        {"sku": "JKT-M", "expected": 1, "counted": 1, "variance": 0},
    ]


def test_transfer_out_then_in(partner, shop):
    sent = partner.post("/api/v1/transfers", json={"source": "WH", "destination": "S2", "lines": [{"sku": "JKT-M", "quantity": 10}]}, key="t1")
    assert sent.status_code == 201 and sent.json["status"] == "in_transit"
    items = {i["store"]: i for i in partner.get("/api/v1/availability?sku=JKT-M").json["items"]}
    assert items["WH"]["on_hand"] == 30 and items["S2"]["on_hand"] == 0
    received = partner.post(f"/api/v1/transfers/{sent.json['id']}/receive", json={"lines": [{"sku": "JKT-M", "quantity": 9}]})
    assert received.status_code == 200 and received.json["lines"][0]["received_quantity"] == 9
    items = {i["store"]: i for i in partner.get("/api/v1/availability?sku=JKT-M").json["items"]}
    assert items["S2"]["on_hand"] == 9
    assert partner.post(f"/api/v1/transfers/{sent.json['id']}/receive", json={}).status_code == 422
    short = partner.post("/api/v1/transfers", json={"source": "S1", "destination": "S2", "lines": [{"sku": "JKT-M", "quantity": 2}]}, key="t2")
    assert short.status_code == 409


def test_local_inventory_feed_is_tab_separated(partner, shop, set_stock):
    response = partner.get("/api/v1/feeds/local-inventory?store=S1")
    assert response.status_code == 200
    assert response.mimetype == "text/tab-separated-values"
    rows = [line.split("\t") for line in response.get_data(as_text=True).strip().split("\n")]
    assert rows[0] == ["store_code", "id", "quantity", "price", "availability"]
    assert rows[1:] == [["S1", "JKT-S", "3", "129.00 EUR", "in_stock"], ["S1", "JKT-M", "1", "129.00 EUR", "limited_availability"]]
    set_stock("S1", "JKT-M", 0)
    assert "out_of_stock" in partner.get("/api/v1/feeds/local-inventory?store=S1").get_data(as_text=True)
    assert partner.get("/api/v1/feeds/local-inventory?store=NOPE").status_code == 400


def test_low_stock_lists_skus_at_or_below_their_threshold(partner, shop):
    body = partner.get("/api/v1/stock/low?store=S1").json
    assert [(i["sku"], i["available"], i["threshold"]) for i in body["items"]] == [("JKT-M", 1, 2)]
    first = partner.get("/api/v1/stock/low?store=WH&limit=1").json
    assert first["items"] == [] and first["next_cursor"] is None


def test_the_ledger_names_the_key_that_made_each_movement_as_a_reference(partner, create_location, create_product):
    from accounts import ApiKey

    create_location("S1")
    create_product(skus=("JKT-M",))
    assert (
        partner.post(
            "/api/v1/stock/movements", json={"store": "S1", "sku": "JKT-M", "kind": "receive", "quantity": 3, "reason": "delivery"}, key="a-1"
        ).status_code
        == 201
    )
    key_id = db.session.query(ApiKey).one().id
    lines = partner.get("/api/v1/stock/movements?store=S1&sku=JKT-M").get_json()["items"]
    assert lines[0]["actor"] == f"api_key:{key_id}"


def test_count_errors_name_the_line_and_change_nothing(partner, shop):
    response = partner.post(
        "/api/v1/stock/counts", json={"store": "S1", "lines": [{"sku": "JKT-S", "counted": 2}, {"sku": "NOPE", "counted": 1}]}, key="cc-bad-1"
    )
    assert response.status_code == 400, response.json
    assert list(response.json["error"]["details"]) == ["lines.1.sku"], response.json
    response = partner.post(
        "/api/v1/stock/counts", json={"store": "S1", "lines": [{"sku": "JKT-S", "counted": 2}, {"sku": "JKT-M", "counted": -1}]}, key="cc-bad-2"
    )
    assert response.status_code == 400 and list(response.json["error"]["details"]) == ["lines.1.counted"], response.json
    response = partner.post(
        "/api/v1/stock/counts", json={"store": "S1", "lines": [{"sku": "JKT-M", "counted": 1}, {"sku": "JKT-M", "counted": 2}]}, key="cc-bad-3"
    )
    assert response.status_code == 400 and list(response.json["error"]["details"]) == ["lines.1.sku"], response.json
    assert partner.get("/api/v1/stock/movements?store=S1&sku=JKT-S").json["items"][0]["reason"] == "test setup"


def test_count_service_validates_every_line_before_it_counts_any(shop):
    import inventory
    from core.errors import ValidationError

    with pytest.raises(ValidationError) as caught:
        inventory.count_location("S1", [("JKT-S", 2), ("NOPE", 1), ("JKT-M", -1)])
    assert caught.value.details == {"lines.1.sku": ["unknown SKU 'NOPE'"], "lines.2.counted": ["a count cannot be negative"]}
    db.session.rollback()
    assert [m.kind for m in inventory.movements("S1", "JKT-S")] == ["count"]


def test_count_below_what_is_held_refuses_the_whole_count(partner, shop):
    reserve(partner, "r-cc", [{"sku": "JKT-M", "quantity": 1}])
    response = partner.post(
        "/api/v1/stock/counts", json={"store": "S1", "lines": [{"sku": "JKT-S", "counted": 9}, {"sku": "JKT-M", "counted": 0}]}, key="cc-held"
    )
    assert response.status_code == 409, response.json
    assert response.json["error"]["details"]["lines"] == [{"line": 1, "sku": "JKT-M", "counted": 0, "reserved": 1}]
    assert partner.get("/api/v1/availability?sku=JKT-S&store=S1").json["items"][0]["on_hand"] == 3


def test_transfer_receipt_errors_name_the_line(partner, shop):
    sent = partner.post(
        "/api/v1/transfers", json={"source": "WH", "destination": "S2", "lines": [{"sku": "JKT-M", "quantity": 4}]}, key="t-lines"
    ).json
    for lines, field in [
        ([{"sku": "JKT-M", "quantity": 1}, {"sku": "JKT-S", "quantity": 1}], "lines.1.sku"),
        ([{"sku": "JKT-M", "quantity": 5}], "lines.0.quantity"),
        ([{"sku": "JKT-M", "quantity": 1}, {"sku": "JKT-M", "quantity": 1}], "lines.1.sku"),
    ]:
        response = partner.post(f"/api/v1/transfers/{sent['id']}/receive", json={"lines": lines})
        assert response.status_code == 400, response.json
        assert list(response.json["error"]["details"]) == [field], response.json
    assert partner.post(f"/api/v1/transfers/{sent['id']}/receive", json={"lines": [{"sku": "JKT-M", "quantity": 4}]}).status_code == 200


def test_a_partner_key_reaches_only_its_own_reservations(client, partner, create_key, shop):
    other = {"Authorization": f"Bearer {create_key('reservations:write', 'inventory:read', name='other partner')}"}
    mine = reserve(partner, "own-1", [{"sku": "JKT-S", "quantity": 1}]).json["id"]
    theirs = client.post(
        "/api/v1/reservations", json={"store": "S1", "lines": [{"sku": "JKT-S", "quantity": 1}]}, headers={**other, "Idempotency-Key": "their-1"}
    ).json["id"]
    for path in (f"/api/v1/reservations/{mine}/release", f"/api/v1/reservations/{mine}/commit"):
        refused = client.post(path, headers=other)
        assert refused.status_code == 404, refused.json
        assert refused.json["error"]["code"] == "not_found"
    assert client.get(f"/api/v1/reservations/{mine}", headers=other).status_code == 404
    # the answer is the same as for a reservation that does not exist: existence does not leak
    assert (
        client.post("/api/v1/reservations/rsv_nope/release", headers=other).json["error"]["message"].replace("rsv_nope", mine)
        == client.post(f"/api/v1/reservations/{mine}/release", headers=other).json["error"]["message"]
    )
    assert partner.get(f"/api/v1/reservations/{mine}").json["status"] == "held"
    assert partner.post(f"/api/v1/reservations/{theirs}/release").status_code == 404
    assert client.post(f"/api/v1/reservations/{theirs}/release", headers=other).json["status"] == "released"
    assert partner.post(f"/api/v1/reservations/{mine}/commit").json["status"] == "committed"
    assert partner.get("/api/v1/availability?sku=JKT-S&store=S1").json["items"][0] == {
        "sku": "JKT-S",
        "store": "S1",
        "on_hand": 2,
        "reserved": 0,
        "available": 2,
    }


def test_staff_and_the_system_are_not_bound_to_the_key_that_made_a_hold(partner, shop):
    import inventory
    from core.actor import Actor

    held = reserve(partner, "own-2", [{"sku": "JKT-S", "quantity": 1}]).json["id"]
    assert inventory.get_reservation(held, actor=Actor("staff", 1)).public_id == held
    assert inventory.get_reservation(held).public_id == held  # the system (expiry, CLI)
    assert inventory.release_reservation(held, actor=Actor("staff", 1)).status == "released"
