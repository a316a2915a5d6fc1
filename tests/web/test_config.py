"""Start-up configuration: the secret key, trusted proxies."""

import pytest

from tests.helpers import run_rate_limited
from web import create_app
from web.config import ConfigurationError, TestConfig


def _config(app, **overrides):
    return type("Overridden", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": app.config["SQLALCHEMY_DATABASE_URI"], **overrides})


def test_production_refuses_to_start_without_a_secret_key(app):
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set"):
        create_app(_config(app, ENV_NAME="production", SECRET_KEY=None))
    assert create_app(_config(app, ENV_NAME="production", SECRET_KEY="from-the-environment")).secret_key == "from-the-environment"


def test_development_generates_one_key_and_keeps_it(app):
    first = create_app(_config(app, ENV_NAME="development", SECRET_KEY=None))
    second = create_app(_config(app, ENV_NAME="development", SECRET_KEY=None))
    assert first.secret_key and first.secret_key == second.secret_key


def _probe(app, **overrides):
    probe = create_app(_config(app, **overrides))

    @probe.get("/_probe")
    def where_from():
        from flask import jsonify, request

        return jsonify({"addr": request.remote_addr, "scheme": request.scheme, "host": request.host})

    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https", "X-Forwarded-Host": "shop.example"}
    return probe.test_client().get("/_probe", headers=headers, environ_base={"REMOTE_ADDR": "10.0.0.2"}).json


def test_forwarded_headers_are_ignored_without_trusted_proxies(app):
    assert _probe(app) == {"addr": "10.0.0.2", "scheme": "http", "host": "localhost"}


def test_one_trusted_proxy_gives_the_client_address_scheme_and_host(app):
    assert _probe(app, TRUSTED_PROXIES=1) == {"addr": "203.0.113.7", "scheme": "https", "host": "shop.example"}


LOGINS_FROM_TWO_CLIENTS = """
    def attempt(client_address):
        return client.post("/login", data={"email": "a@b.c", "password": "nope"}, headers={"X-Forwarded-For": client_address},
                           environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code
    print([attempt("203.0.113.1"), attempt("203.0.113.1"), attempt("203.0.113.2"), attempt("203.0.113.1")])
    """


def test_without_trusted_proxies_every_client_behind_the_balancer_shares_one_login_limit(tmp_path):
    assert run_rate_limited(tmp_path, 'LOGIN_RATE_LIMIT = "2 per minute"\n', LOGINS_FROM_TWO_CLIENTS) == "[401, 401, 429, 429]"


def test_with_a_trusted_proxy_each_client_has_its_own_login_limit(tmp_path):
    limits = 'LOGIN_RATE_LIMIT = "2 per minute"\nTRUSTED_PROXIES = 1\n'
    assert run_rate_limited(tmp_path, limits, LOGINS_FROM_TWO_CLIENTS) == "[401, 401, 401, 429]"
