"""Staff reach only their own stores through the API (admins: all); partner keys are brand-wide."""

import itertools

import pytest

import inventory
from accounts import create_staff
from core import db

PASSWORD = "correct-horse"
_keys = itertools.count()


@pytest.fixture
def world(create_location, create_product, set_stock):
    """Stores S1 and S2 and a warehouse, stock everywhere, a hold and an incoming transfer at each store."""
    for code in ("S1", "S2"):
        create_location(code)
    create_location("WH", kind="warehouse")
    create_product(skus=("JKT-M",))
    for code in ("S1", "S2", "WH"):
        set_stock(code, "JKT-M", 10)
    holds = {code: inventory.reserve(code, [{"sku": "JKT-M", "quantity": 1}], "pickup").public_id for code in ("S1", "S2")}
    incoming = {
        "S1": inventory.create_transfer("S2", "S1", [{"sku": "JKT-M", "quantity": 1}]).public_id,
        "S2": inventory.create_transfer("S1", "S2", [{"sku": "JKT-M", "quantity": 1}]).public_id,
    }
    for role, email, stores in [("associate", "ana@example.com", ["S1"]), ("manager", "max@example.com", ["S1"]), ("admin", "sofia@example.com", [])]:
        create_staff(email, email.split("@")[0].title(), role, PASSWORD, stores)
    db.session.commit()
    return {"holds": holds, "incoming": incoming}


def other(store):
    return "S2" if store == "S1" else "S1"


# name: (the role that may use it, request at `store` as (method, path, json body))
ROUTES = {
    "POST /reservations": ("associate", lambda w, s: ("POST", "/api/v1/reservations", {"store": s, "lines": [{"sku": "JKT-M", "quantity": 1}]})),
    "GET /reservations/{id}": ("associate", lambda w, s: ("GET", f"/api/v1/reservations/{w['holds'][s]}", None)),
    "POST /reservations/{id}/commit": ("associate", lambda w, s: ("POST", f"/api/v1/reservations/{w['holds'][s]}/commit", None)),
    "POST /reservations/{id}/release": ("associate", lambda w, s: ("POST", f"/api/v1/reservations/{w['holds'][s]}/release", None)),
    "GET /stock/movements": ("associate", lambda w, s: ("GET", f"/api/v1/stock/movements?store={s}&sku=JKT-M", None)),
    "GET /stock/low": ("associate", lambda w, s: ("GET", f"/api/v1/stock/low?store={s}", None)),
    "GET /feeds/local-inventory": ("associate", lambda w, s: ("GET", f"/api/v1/feeds/local-inventory?store={s}", None)),
    "POST /stock/movements": (
        "manager",
        lambda w, s: ("POST", "/api/v1/stock/movements", {"store": s, "sku": "JKT-M", "kind": "adjust", "quantity": -1}),
    ),
    "POST /stock/counts": ("manager", lambda w, s: ("POST", "/api/v1/stock/counts", {"store": s, "lines": [{"sku": "JKT-M", "counted": 7}]})),
    "POST /transfers": (
        "manager",
        lambda w, s: ("POST", "/api/v1/transfers", {"source": s, "destination": other(s), "lines": [{"sku": "JKT-M", "quantity": 1}]}),
    ),
    "POST /transfers/{id}/receive": ("manager", lambda w, s: ("POST", f"/api/v1/transfers/{w['incoming'][s]}/receive", {})),
}
EMAILS = {"associate": "ana@example.com", "manager": "max@example.com", "admin": "sofia@example.com"}


def caller(app, role, via):
    """A test client speaking as the staff member with ``role`` (of S1, unless an admin), by session cookie or staff token."""
    client = app.test_client()
    headers = {}
    if via == "cookie":
        assert client.post("/login", data={"email": EMAILS[role], "password": PASSWORD}).status_code == 302
    elif via == "token":
        headers["Authorization"] = "Bearer " + client.post("/api/v1/staff/tokens", json={"email": EMAILS[role], "password": PASSWORD}).json["token"]

    def send(method, path, body):
        response = client.open(path, method=method, json=body, headers={**headers, "Idempotency-Key": f"k{next(_keys)}"})
        response.get_data()  # the feed streams: read it to the end
        return response

    return send


def on_hand(store):
    db.session.expire_all()
    return {item["store"]: item["on_hand"] for item in inventory.availability(["JKT-M"], store)[0]}[store]


@pytest.mark.parametrize("via", ["cookie", "token"])
@pytest.mark.parametrize("route", ROUTES)
def test_staff_of_one_store_get_403_at_another_and_2xx_at_their_own(app, world, route, via):
    role, build = ROUTES[route]
    send = caller(app, role, via)
    before = (on_hand("S1"), on_hand("S2"))
    refused = send(*build(world, "S2"))
    assert refused.status_code == 403, (route, refused.get_json())
    assert refused.json["error"] == {"code": "forbidden", "message": "you don't work at S2", "details": {"store": "S2"}}
    assert (on_hand("S1"), on_hand("S2")) == before, "a refused request changed nothing"
    accepted = send(*build(world, "S1"))
    assert 200 <= accepted.status_code < 300, (route, accepted.status_code, accepted.get_data(as_text=True)[:300])


@pytest.mark.parametrize("route", ROUTES)
def test_an_admin_reaches_every_store(app, world, route):
    role, build = ROUTES[route]
    send = caller(app, "admin", "token")
    for store in ("S2", "S1"):
        response = send(*build(world, store))
        assert 200 <= response.status_code < 300, (route, store, response.get_json())


@pytest.mark.parametrize("route", ROUTES)
def test_a_partner_key_is_brand_wide(world, partner, route):
    role, build = ROUTES[route]
    if "/reservations/{id}" in route:  # a key reaches only the holds it made (404 for others'): make its own, at both stores
        world = {
            **world,
            "holds": {
                code: partner.post(
                    "/api/v1/reservations", json={"store": code, "lines": [{"sku": "JKT-M", "quantity": 1}], "kind": "pickup"}, key=f"own-{code}"
                ).get_json()["id"]
                for code in ("S1", "S2")
            },
        }
    for store in ("S2", "S1"):
        method, path, body = build(world, store)
        response = partner.post(path, json=body, key=f"p{next(_keys)}") if method == "POST" else partner.get(path)
        response.get_data()
        assert 200 <= response.status_code < 300, (route, store, response.get_json())


def test_an_associate_reads_availability_at_every_store_like_the_tablet_shows(app, world):
    send = caller(app, "associate", "token")
    assert send("GET", "/api/v1/availability?sku=JKT-M&store=S2", None).status_code == 200
    assert {item["store"] for item in send("GET", "/api/v1/availability?sku=JKT-M", None).json["items"]} == {"S1", "S2", "WH"}


def test_a_warehouse_is_reached_by_admins_only(app, world):
    move = ("POST", "/api/v1/stock/movements", {"store": "WH", "sku": "JKT-M", "kind": "receive", "quantity": 1})
    assert caller(app, "manager", "cookie")(*move).status_code == 403
    assert caller(app, "admin", "cookie")(*move).status_code == 201


def test_every_api_route_declares_how_it_names_its_store(app):
    undeclared = [
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/")
        and not rule.endpoint.startswith("api-docs")
        and not hasattr(app.view_functions[rule.endpoint], "_store_access")
    ]
    assert undeclared == []
