"""SKUs Shelfside makes up for variants that came without one (Shopify does not require SKUs)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

SKU_LENGTH = 100  # Variant.sku
SUFFIX_LENGTH = 6


def generated_sku(handle: str, option_values: list[str], attempt: int = 0) -> str:
    """A SKU for the variant of ``handle`` with these option values, readable at a till.

    The handle and the option values, ASCII-folded, upper case, joined by '-' (``linen-shirt`` in
    L / Sand is ``LINEN-SHIRT-L-SAND``).  A 6-character suffix from a hash of the handle and values
    (in NFC) is added when folding lost letters (a handle in Arabic), when the SKU would be longer
    than 100 characters, and on every ``attempt`` after the first (the caller's way to step past a
    SKU that is taken); the suffix differs per attempt.  The same arguments always give the same SKU.
    """
    parts, lossy = [], False
    for text in (handle, *option_values):
        folded, lost = _ascii_fold(text)
        lossy = lossy or lost
        if folded:
            parts.append(folded)
    readable = "-".join(parts)
    if not (lossy or attempt or not readable or len(readable) > SKU_LENGTH):
        return readable
    key = "\x1f".join(unicodedata.normalize("NFC", text) for text in (handle, *option_values))
    suffix = hashlib.sha256(f"{key}\x1e{attempt}".encode()).hexdigest()[:SUFFIX_LENGTH].upper()
    stem = readable[: SKU_LENGTH - SUFFIX_LENGTH - 1].rstrip("-")
    return f"{stem}-{suffix}" if stem else suffix


def _ascii_fold(text: str) -> tuple[str, bool]:
    """(text in upper-case ASCII letters and digits, runs of anything else one '-'; whether a letter or digit was lost)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    kept, lost = [], False
    for ch in decomposed:
        if ch.isascii() and ch.isalnum():
            kept.append(ch.upper())
        elif unicodedata.category(ch) == "Mn":
            continue  # an accent: é is E
        else:
            lost = lost or unicodedata.category(ch)[0] in "LN"
            kept.append("-")
    return re.sub(r"-{2,}", "-", "".join(kept)).strip("-"), lost
