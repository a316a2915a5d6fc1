"""Product pictures: which URLs may go into an <img>, and which picture shows which variant."""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

from flask import current_app, url_for

COLOUR_OPTIONS = ("color", "colour")


def image_src(url: str | None) -> str | None:
    """The URL to put in an <img> (our own static files fingerprinted, see ``web.assets``), or None
    when it is one of our static files that does not exist
    (the templates then draw a neutral placeholder; ``images.js`` also catches later failures)."""
    if not url:
        return None
    if url.startswith("/static/"):
        root = os.path.realpath(current_app.static_folder)
        path = os.path.realpath(os.path.join(root, url[len("/static/") :].split("?", 1)[0]))
        if not path.startswith(root + os.sep) or not os.path.isfile(path):
            return None
        return url_for("static", filename=os.path.relpath(path, root).replace(os.sep, "/"))  # fingerprinted: cached for a year
    parts = urlsplit(url)
    if parts.scheme in ("http", "https") and parts.netloc:
        return url
    return None


def _colour(variant) -> str | None:
    for name, value in (variant.options or {}).items():
        if name.lower() in COLOUR_OPTIONS and value:
            return str(value)
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", text.lower())


def _mentions(text: str, colour_words: list[str]) -> bool:
    """Whether ``text`` holds the colour's words in a row ("Trail Runner in Deep Moss", "runner-deep-moss.jpg")."""
    words = _words(text)
    n = len(colour_words)
    return n > 0 and any(words[i : i + n] == colour_words for i in range(len(words) - n + 1))


def variant_image_index(images, variant) -> int | None:
    """The index in ``images`` (the product's ProductImage rows) of the picture of ``variant``'s
    colour, or None when none is recognisably its own.

    The catalogue keeps pictures per product only (a Shopify export's ``Variant Image`` is not
    stored), so a variant's picture is found by its colour: the first image whose alt text, or
    else whose file name, names the colour value.
    """
    colour = _colour(variant)
    if not colour:
        return None
    colour_words = _words(colour)
    for index, image in enumerate(images):
        if _mentions(image.alt or "", colour_words):
            return index
    for index, image in enumerate(images):
        if _mentions(unquote(urlsplit(image.url or "").path.rsplit("/", 1)[-1]), colour_words):
            return index
    return None


def gallery(product) -> list[dict]:
    """The product's pictures for a gallery, each with its position (``index``) in the product's order;
    a single placeholder when it has none."""
    images = [{"index": i, "src": image_src(image.url), "alt": image.alt or product.title} for i, image in enumerate(product.images)]
    return images or [{"index": 0, "src": None, "alt": product.title}]


def gallery_for(images: list[dict], index: int | None) -> list[dict]:
    """``images`` with the picture at ``index`` first (the main picture), the rest in their order."""
    if index is None:
        return images
    return sorted(images, key=lambda image: (image["index"] != index, image["index"]))
