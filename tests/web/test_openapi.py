"""The OpenAPI document tells the truth about errors, statuses and headers; its docs page works offline."""

import re

import pytest

ENVELOPE = {"code", "message", "details"}


@pytest.fixture
def spec(client):
    return client.get("/api/v1/openapi.json").json


def operations(spec):
    for path, ops in spec["paths"].items():
        for method, operation in ops.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", operation


def resolve(spec, node):
    while "$ref" in node:
        kind, name = node["$ref"].split("/")[-2:]
        node = spec["components"][kind][name]
    return node


def test_every_error_answer_is_documented_as_the_envelope(spec):
    for name, operation in operations(spec):
        for status, response in operation["responses"].items():
            if status.startswith("2"):
                continue
            schema = resolve(spec, resolve(spec, response)["content"]["application/json"]["schema"])
            error = resolve(spec, schema["properties"]["error"])
            assert set(error["properties"]) == ENVELOPE, (name, status)
    assert "Error" not in spec["components"]["schemas"], "flask-smorest's own error shape is not what the server answers"


def test_statuses_match_what_the_server_answers(spec):
    ops = dict(operations(spec))
    for name, operation in ops.items():
        statuses = set(operation["responses"])
        assert "400" in statuses, name  # web.input refuses NUL anywhere, on every route
        if operation.get("security") != []:
            assert {"401", "403"} <= statuses, name
        if "{" in name:
            assert "404" in statuses, name
    assert {"201", "400", "401", "403", "409", "422"} <= set(ops["POST /api/v1/reservations"]["responses"])
    assert {"404", "422"} <= set(ops["POST /api/v1/reservations/{reservation_id}/commit"]["responses"])
    assert {"200", "201", "409"} <= set(ops["PUT /api/v1/products/{handle}"]["responses"])
    assert {"409", "422"} <= set(ops["POST /api/v1/stock/counts"]["responses"])
    assert set(ops["POST /api/v1/staff/tokens"]["responses"]) >= {"201", "400", "401", "429"}
    assert "Retry-After" in ops["POST /api/v1/staff/tokens"]["responses"]["429"]["headers"]
    assert not any(status == "422" for status in ops["GET /api/v1/availability"]["responses"]), "invalid input is 400, not 422"


def test_idempotent_writes_document_their_header(spec):
    ops = dict(operations(spec))
    for name in ["POST /api/v1/reservations", "POST /api/v1/stock/movements", "POST /api/v1/stock/counts", "POST /api/v1/transfers"]:
        header = next(p for p in ops[name]["parameters"] if p["in"] == "header")
        assert header["name"] == "Idempotency-Key" and header["required"] is True, name
    optional = next(p for p in ops["POST /api/v1/webhook-endpoints"]["parameters"] if p["name"] == "Idempotency-Key")
    assert optional["required"] is False


def test_signing_in_for_a_token_needs_no_credentials_and_tokens_are_a_bearer_scheme(spec):
    ops = dict(operations(spec))
    assert ops["POST /api/v1/staff/tokens"]["security"] == []
    assert "sst_" in spec["components"]["securitySchemes"]["apiKey"]["description"]


def test_the_documented_400_is_what_invalid_input_gets(partner, spec):
    response = partner.post("/api/v1/reservations", json={"store": "S1", "lines": []}, key="x")
    assert response.status_code == 400 and set(response.json["error"]) == ENVELOPE and "lines" in response.json["error"]["details"]


def test_the_docs_page_loads_only_same_origin_assets_and_they_are_served(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "<script>" not in html, "no inline script (a content security policy may forbid it)"
    references = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(references) >= 4
    for reference in references:
        assert reference.startswith("/") and not reference.startswith("//"), reference
        asset = client.get(reference)
        assert asset.status_code == 200 and asset.data, reference
    assert "SwaggerUIBundle" in client.get(next(r for r in references if "bundle" in r)).get_data(as_text=True)
    spec_url = re.search(r'data-spec-url="([^"]+)"', html).group(1)
    assert client.get(spec_url).json["openapi"].startswith("3.")
    assert client.get("/api/v1/docs/assets/oauth2-redirect.html").status_code == 404
    assert client.get("/api/v1/docs/assets/../../../etc/passwd").status_code == 404


def test_webhook_event_types_are_listed_in_full(spec):
    from core.outbox import event_types

    items = resolve(spec, spec["components"]["schemas"]["WebhookEndpointIn"])["properties"]["events"]["items"]
    assert set(items["enum"]) == {*event_types(), "*"}
