"""Static files sent the fast way: fingerprinted URLs cached for a year, compressed answers.

* ``url_for('static', filename=...)`` adds ``?v=<hash of the file's content>``.  A static answer
  whose ``v`` matches the file as it is now is ``Cache-Control: public, max-age=31536000,
  immutable``: a browser keeps it until the content (so the URL) changes.  Without ``v``, or
  with an old one, files stay ``no-cache`` (revalidated by ETag), so nothing is cached under a
  URL that may later serve other content.
* Answers are compressed with Flask-Compress (brotli or gzip, whichever the browser accepts, br
  first) when they are HTML, CSS, JavaScript, JSON, SVG or plain text and at least 500 bytes.
  Event streams (``text/event-stream``) are never compressed: a compressor holds events back
  until its buffer fills.
"""

from __future__ import annotations

import hashlib
import os
import threading

from flask import Flask, request
from flask_compress import Compress
from werkzeug.security import safe_join

YEAR = 31536000
COMPRESSED_TYPES = [
    "text/html",
    "text/css",
    "text/javascript",
    "application/javascript",
    "application/json",
    "image/svg+xml",
    "text/plain",
    "application/problem+json",
]

compress = Compress()
_hashes: dict[str, tuple[int, int, str]] = {}
_lock = threading.Lock()


def content_hash(static_folder: str, filename: str) -> str | None:
    """The first 12 hex digits of the SHA-256 of a static file's content (remembered per process
    until the file's size or modification time changes), or None when there is no such file."""
    path = safe_join(static_folder, filename)
    if path is None:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    cached = _hashes.get(path)
    if cached and cached[:2] == (stat.st_mtime_ns, stat.st_size):
        return cached[2]
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(65536), b""):
            digest.update(block)
    value = digest.hexdigest()[:12]
    with _lock:
        _hashes[path] = (stat.st_mtime_ns, stat.st_size, value)
    return value


def register(app: Flask) -> None:
    """Fingerprint static URLs, cache fingerprinted static answers for a year, compress answers."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_TYPES)
    app.config.setdefault("COMPRESS_ALGORITHM", ["br", "gzip"])
    app.config.setdefault("COMPRESS_ALGORITHM_STREAMING", ["br", "gzip"])  # static files are streamed from disk
    compress.init_app(app)

    @app.url_defaults
    def fingerprint_static(endpoint, values):
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = content_hash(app.static_folder, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def cache_fingerprinted_static(response):
        if request.endpoint != "static" or response.status_code not in (200, 304):
            return response
        version = request.args.get("v")
        if version and version == content_hash(app.static_folder, (request.view_args or {}).get("filename", "")):
            response.cache_control.no_cache = None
            response.cache_control.public = True
            response.cache_control.max_age = YEAR
            response.cache_control.immutable = True
        return response
