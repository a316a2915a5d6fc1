"""The baseline: a Flask app with one route answering a small JSON document.

Served by gunicorn exactly like Shelfside (same worker class, workers, threads):

    gunicorn --pythonpath bench 'trivial_app:create_app()'

so that "availability throughput as a share of the trivial endpoint's" measures what our
code adds (auth, validation, queries, serialisation) on top of Flask + gunicorn + HTTP.
"""

from flask import Flask, jsonify


def create_app() -> Flask:
    app = Flask(__name__)

    @app.get("/healthz")
    def healthz():
        return jsonify({"status": "ok"})

    @app.get("/trivial")
    def trivial():
        return jsonify({"items": [{"sku": "SKU-000001", "store": "S001", "on_hand": 3, "reserved": 0, "available": 3}], "unknown": []})

    return app
