"""Static files: fingerprinted URLs cached for a year, compressed answers (web/assets.py)."""

import gzip
import re
import time

import brotli
from flask import render_template_string, url_for


def test_a_static_url_carries_a_hash_of_the_content_that_changes_with_it(app, client, tmp_path, monkeypatch):
    monkeypatch.setattr(app, "static_folder", str(tmp_path))
    asset = tmp_path / "tablet.css"
    asset.write_text("body { color: green }")
    with app.test_request_context():
        first = url_for("static", filename="tablet.css")
    assert re.fullmatch(r"/static/tablet\.css\?v=[0-9a-f]{12}", first)
    time.sleep(0.01)
    asset.write_text("body { color: blue }")
    with app.test_request_context():
        second = url_for("static", filename="tablet.css")
    assert second != first and second.startswith("/static/tablet.css?v=")

    fresh = client.get(second)
    assert fresh.get_data(as_text=True) == "body { color: blue }"
    assert fresh.headers["Cache-Control"] in ("public, max-age=31536000, immutable", "public, immutable, max-age=31536000")
    for stale in [first, "/static/tablet.css"]:  # an old fingerprint or none: revalidate every time
        response = client.get(stale)
        assert "immutable" not in response.headers["Cache-Control"] and "no-cache" in response.headers["Cache-Control"], stale


def test_pages_link_their_scripts_styles_and_product_pictures_fingerprinted(app):
    with app.test_request_context():
        html = render_template_string("{% extends 'base.html' %}")
        from web.viewmodels import image_src

        picture = image_src("/static/products/jackets-green.svg")
    assert re.search(r'href="/static/shelfside\.css\?v=[0-9a-f]{12}"', html)
    assert re.fullmatch(r"/static/products/jackets-green\.svg\?v=[0-9a-f]{12}", picture)


def test_pages_and_static_files_are_compressed_for_browsers_that_accept_it(client):
    page = client.get("/login", headers={"Accept-Encoding": "gzip"})
    assert page.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in page.headers["Vary"]
    assert "Store associate sign-in" in gzip.decompress(page.get_data()).decode()

    css = client.get("/static/shelfside.css", headers={"Accept-Encoding": "br, gzip"})
    assert css.headers["Content-Encoding"] == "br"
    assert b".topbar" in brotli.decompress(css.get_data())

    api = client.get("/api/v1/openapi.json", headers={"Accept-Encoding": "gzip"})
    assert api.headers["Content-Encoding"] == "gzip" and b'"openapi"' in gzip.decompress(api.get_data())

    plain = client.get("/login")
    assert "Content-Encoding" not in plain.headers and b"Store associate sign-in" in plain.get_data()
