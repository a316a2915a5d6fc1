"""Hostile input anywhere — NUL bytes, lone surrogates, absurd nesting, CR/LF in redirects, long URLs —
is a 400 naming the field (414 for the URL), never a 500: a sweep over every route, and pointed cases."""

import re

import pytest

from accounts import create_staff, register_kiosk
from core import db
from tests.browser.shop import build_shop

PASSWORD = "correct-horse"
SAMPLE = {
    "handle": "trail-runner-gtx",
    "code": "4006381333931",
    "reservation_id": "rsv_x",
    "transfer_id": "trf_x",
    "endpoint_id": "whe_x",
    "slug": "footwear",
    "token": "kio_x",
    "filename": "shelfside.css",
}
FIELDS = ("store", "sku", "q", "cursor", "email", "password", "next", "source", "destination", "url", "title", "kind", "reason", "device")
DEEP = "[" * 10_000 + "]" * 10_000


@pytest.fixture
def callers(app, create_key):
    """(staff client that also carries a partner key, kiosk client): between them every route is reached past its checks."""
    build_shop()
    create_staff("sofia@example.com", "Sofia", "admin", PASSWORD, [])
    _, kiosk_token = register_kiosk("S1", "Entrance")
    key = create_key()
    staff = app.test_client()
    assert staff.post("/login", data={"email": "sofia@example.com", "password": PASSWORD}).status_code == 302
    staff.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {key}"
    kiosk = app.test_client()
    assert kiosk.get(f"/kiosk/activate/{kiosk_token}").status_code == 302
    return staff, kiosk


def routes(app):
    for rule in app.url_map.iter_rules():
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def fill(rule, value=None):
    """The rule's path with each parameter set to a sample (or to ``value``)."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: value if value is not None else SAMPLE.get(m.group(1), "x"), rule.rule)


def probes(rule, method):
    path = fill(rule)
    query = "&".join(f"{name}=%00" for name in FIELDS) + "&sku=A%00B&%00=1"
    yield "NUL in the query", dict(method=method, path=f"{path}?{query}")
    if rule.arguments:
        yield "NUL in a path segment", dict(method=method, path=fill(rule, "%00"))
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        values = {**dict.fromkeys(FIELDS, "a\x00b"), "lines": [{"sku": "\u0000", "quantity": 1, "counted": 1}], "events": ["\u0000"]}
        yield "NUL in JSON values", dict(method=method, path=path, json=values)
        yield "NUL in a JSON key", dict(method=method, path=path, json={"store\u0000": "S1", "lines": [{"sku\u0000": "x"}]})
        yield "10,000-deep JSON", dict(method=method, path=path, data=DEEP, content_type="application/json")
        surrogates = (
            '{"store": "S1", "title": "\\ud800", "url": "http://x/\\ud800", "email": "\\ud800", "password": "\\ud800", '
            '"lines": [{"sku": "\\udfff", "quantity": 1, "counted": 1}], '
            '"variants": [{"sku": "\\ud800", "price": {"amount": 1, "currency": "EUR"}}]}'
        )
        yield "a lone surrogate", dict(method=method, path=path, data=surrogates, content_type="application/json")
        yield "NUL in a form", dict(method=method, path=path, data=dict.fromkeys(FIELDS, "a\x00b"))


def test_no_route_answers_5xx_to_hostile_input(app, callers):
    staff, kiosk = callers
    failures = []
    for rule, method in routes(app):
        client = kiosk if rule.rule.startswith("/kiosk") else staff
        for name, probe in probes(rule, method):
            probe = dict(probe)
            path = probe.pop("path")
            response = client.open(path, headers={"Idempotency-Key": "sweep"}, **probe)
            response.get_data()
            if response.status_code >= 500:
                failures.append(f"{method} {rule.rule}: {name} -> {response.status_code}")
    assert not failures, f"{len(failures)} answers of 500 or more:\n" + "\n".join(failures)


def error(response):
    assert response.status_code == 400, response.get_data(as_text=True)[:300]
    return response.json["error"]


def test_nul_in_a_json_value_or_key_is_400_naming_the_field(partner, create_location):
    create_location("S1")
    body = {"store": "S1", "lines": [{"sku": "JKT\u0000M", "quantity": 1}]}
    assert error(partner.post("/api/v1/reservations", json=body, key="n1"))["details"] == {"lines.0.sku": ["NUL characters are not allowed"]}
    body = {"store": "S1", "lines": [{"sku": "JKT-M", "quantity": 1, "x\u0000": 1}]}
    assert list(error(partner.post("/api/v1/reservations", json=body, key="n2"))["details"]) == ["lines.0.x\\u0000"]


def test_deep_nesting_and_lone_surrogates_are_400_naming_where(partner):
    deep = partner.post("/api/v1/stock/counts", data=DEEP, key="d1", headers={"Content-Type": "application/json"})
    assert error(deep)["details"] == {"body": ["nested more than 32 levels deep"]}
    product = '{"title": "\\ud800", "variants": [{"sku": "P-1", "price": {"amount": 100, "currency": "EUR"}}]}'
    lone = partner.put("/api/v1/products/p", data=product, headers={"Content-Type": "application/json"})
    assert error(lone)["details"] == {"title": ["lone UTF-16 surrogates are not allowed"]}


def test_nul_in_the_query_or_the_path_is_400_naming_the_parameter(partner):
    assert error(partner.get("/api/v1/availability?sku=A%00B"))["details"] == {"sku": ["NUL characters are not allowed"]}
    assert error(partner.get("/api/v1/products/trail%00runner"))["details"] == {"handle": ["NUL characters are not allowed"]}


def test_the_html_pages_answer_a_friendly_error_page(client, create_location):
    create_location("S1")
    create_staff("ana@example.com", "Ana", "associate", PASSWORD, ["S1"])
    db.session.commit()
    login = client.post("/login", data={"email": "ana@example.com\x00", "password": PASSWORD})
    assert login.status_code == 400 and login.mimetype == "text/html" and "NUL characters are not allowed (email)" in login.get_data(as_text=True)
    injected = client.post("/login?next=/tablet/%0d%0aSet-Cookie:%20evil=1", data={"email": "ana@example.com", "password": PASSWORD})
    assert injected.status_code == 400 and "redirect target may not contain control characters (next)" in injected.get_data(as_text=True)
    assert "Set-Cookie" not in str(injected.headers.get("Location"))


def test_an_over_long_url_is_414_in_the_envelope_under_api(app, partner):
    limit = app.config["MAX_URL_LENGTH"]
    response = partner.get("/api/v1/availability?" + "&".join(f"sku=SKU-{n:05d}" for n in range(limit // 14 + 1)))
    assert response.status_code == 414
    assert response.json["error"]["code"] == "uri_too_long" and str(limit) in response.json["error"]["message"]
    assert partner.get("/api/v1/availability?" + "&".join(f"sku=SKU-{n:05d}" for n in range(200))).status_code == 200
