"""Security headers on every answer (web/security_headers.py)."""

from web import create_app
from web.config import TestConfig


def policy(response) -> dict[str, str]:
    return {part.split(" ", 1)[0]: part.split(" ", 1)[1] for part in response.headers["Content-Security-Policy"].split("; ")}


def test_pages_api_and_static_files_carry_the_content_security_policy_and_friends(client):
    for path in ["/login", "/kiosk/", "/api/v1/stores", "/static/shelfside.css", "/healthz", "/nope"]:
        response = client.get(path)
        csp = policy(response)
        assert csp["default-src"] == "'self'", path
        assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'", path
        assert csp["img-src"] == "'self' data: https:", path
        assert csp["frame-ancestors"] == "'none'" and csp["base-uri"] == "'self'", path
        assert csp["form-action"] == "'self'" and csp["object-src"] == "'none'", path
        assert response.headers["X-Frame-Options"] == "DENY", path
        assert response.headers["X-Content-Type-Options"] == "nosniff", path
        assert response.headers["Referrer-Policy"] == "same-origin", path
        assert "Strict-Transport-Security" not in response.headers, path  # not outside production


def test_the_swagger_ui_page_lives_under_the_same_policy_as_every_page(client):
    docs = policy(client.get("/api/v1/docs"))
    assert docs["script-src"] == "'self'" and docs["style-src"] == "'self'"
    assert docs["frame-ancestors"] == "'none'" and docs["object-src"] == "'none'"
    assert "<script>" not in client.get("/api/v1/docs").get_data(as_text=True)  # its start-up script is a file


def test_production_adds_strict_transport_security(app):
    class Production(TestConfig):
        SQLALCHEMY_DATABASE_URI = app.config["SQLALCHEMY_DATABASE_URI"]
        ENV_NAME = "production"

    response = create_app(Production).test_client().get("/login")
    assert response.headers["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
