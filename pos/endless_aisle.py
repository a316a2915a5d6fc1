"""Endless aisle: a line the store lacks, sold in the same basket as the take-now items and fulfilled from another
location — shipped to the customer's address, or collected at a store they choose.

``add_line_from_elsewhere`` checks that the source has the units available *now* and adds a separate cart line
(``fulfilment`` ``ship`` or ``collect``, ``source_location_id``, ``ship_to`` / ``collect_location_id``); it holds
nothing yet.  At checkout ``pos.checkout._take_stock`` reserves each such line at its source (a ``pickup`` hold for
a collection, an ``online_order`` hold for a shipment, ``reference`` = the order number, 14 days): when the source
cannot hold the units any more, the whole checkout fails with InsufficientStock and nothing is written.

``where_else`` answers the other locations that have a SKU available, for the tablet to offer.
"""

from __future__ import annotations

import inventory
from core.actor import Actor
from core.db import db
from core.errors import InsufficientStock, ValidationError

from .cart_models import Cart, CartLine
from .carts import _check_quantity, _open, _touch, _variant, new_line

ELSEWHERE = ("ship", "collect")
ADDRESS_REQUIRED = ("name", "line1", "postal_code", "city", "country")
ADDRESS_OPTIONAL = ("line2", "region", "phone")
ADDRESS_LIMITS = {"name": 200, "line1": 200, "line2": 200, "postal_code": 20, "city": 100, "region": 100, "country": 2, "phone": 40}
# ISO 3166-1 alpha-2, the officially assigned codes
COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ
    CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR
    GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP
    KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT
    MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW
    SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG
    UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW""".split()
)


def check_address(ship_to, field: str = "fulfilment.ship_to") -> dict:
    """A shipping address trimmed and checked: ``name``, ``line1``, ``postal_code``, ``city`` and ``country`` (ISO
    3166-1 alpha-2, any case: stored in capitals) are required; ``line2``, ``region``, ``phone`` optional.  Raises
    one ValidationError naming every bad field (``fulfilment.ship_to.postal_code``)."""
    if not isinstance(ship_to, dict):
        raise ValidationError("a shipment needs the address: name, line1, postal_code, city, country", field=field)
    errors: dict[str, list[str]] = {}
    for name in sorted(set(ship_to) - set(ADDRESS_REQUIRED) - set(ADDRESS_OPTIONAL)):
        errors[f"{field}.{name}"] = ["unknown field (an address has name, line1, line2, postal_code, city, region, country, phone)"]
    address = {}
    for name in ADDRESS_REQUIRED + ADDRESS_OPTIONAL:
        value = ship_to.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if name in ADDRESS_REQUIRED:
                errors[f"{field}.{name}"] = ["is required"]
            continue
        if not isinstance(value, str):
            errors[f"{field}.{name}"] = ["must be text"]
            continue
        value = " ".join(value.split())
        if len(value) > ADDRESS_LIMITS[name]:
            errors[f"{field}.{name}"] = [f"at most {ADDRESS_LIMITS[name]} characters"]
            continue
        address[name] = value
    country = address.get("country")
    if country is not None:
        country = country.upper()
        if country not in COUNTRIES:
            errors[f"{field}.country"] = ["an ISO 3166-1 two-letter country code, like DE"]
        address["country"] = country
    if errors:
        raise ValidationError("the shipping address is not complete", details=errors)
    return address


def add_line_from_elsewhere(
    cart,
    actor: Actor,
    sku: str,
    quantity: int,
    source_store_code: str,
    fulfilment: str,
    ship_to: dict | None = None,
    collect_at: str | None = None,
) -> tuple[Cart, CartLine]:
    """Add ``quantity`` of ``sku`` fulfilled from another location: ``fulfilment`` ``"ship"`` (to ``ship_to``, a full
    address, see ``check_address``) or ``"collect"`` (at ``collect_at``, an active store's code).  The line is
    separate from any take-now line of the same SKU; the same SKU again from the same source to the same
    destination adds to its line.  Locks the cart first.

    Raises ValidationError naming the field (``sku``, ``quantity``, ``fulfilment.kind``, ``fulfilment.from``,
    ``fulfilment.ship_to.<field>``, ``fulfilment.collect_at``), InsufficientStock (409; the line's ``store`` is the
    source) when the source does not have the units available now (the cart's wanted units from there
    included), InvalidTransition when the cart is no longer open.  Nothing is held until checkout."""
    _check_quantity(quantity)
    cart = _open(cart)
    if fulfilment not in ELSEWHERE:
        raise ValidationError("a line from elsewhere is shipped (ship) or collected (collect)", field="fulfilment.kind")
    variant = _variant(sku, None)
    if variant.currency != cart.currency:
        raise ValidationError(f"{variant.sku} is priced in {variant.currency}, this store sells in {cart.currency}", field="sku")
    source = inventory.get_location(source_store_code or "", field="fulfilment.from")
    if source.id == cart.location_id:
        raise ValidationError(f"{source.code} is this store: sell what is here as take-now", field="fulfilment.from")
    address, collect_location = None, None
    if fulfilment == "ship":
        if collect_at:
            raise ValidationError("a shipment has an address, not a store to collect at", field="fulfilment.collect_at")
        address = check_address(ship_to)
    else:
        if ship_to:
            raise ValidationError("a collection has a store to collect at, not an address", field="fulfilment.ship_to")
        if not collect_at:
            raise ValidationError("a collection needs the store to collect at", field="fulfilment.collect_at")
        collect_location = inventory.get_location(collect_at, field="fulfilment.collect_at", kinds=("store",))

    line = next(
        (
            existing
            for existing in cart.lines
            if existing.variant_id == variant.id
            and existing.fulfilment == fulfilment
            and existing.source_location_id == source.id
            and existing.ship_to == address
            and existing.collect_location_id == (collect_location.id if collect_location else None)
        ),
        None,
    )
    wanted = quantity + (line.quantity if line else 0)
    _check_quantity(wanted)
    from_there = sum(
        ln.quantity for ln in cart.lines if ln.fulfilment in ELSEWHERE and ln.source_location_id == source.id and ln.variant_id == variant.id
    )
    needed = quantity + from_there
    items, _ = inventory.availability([variant.sku], source.code)
    available = max(items[0]["available"], 0) if items else 0
    if available < needed:
        raise InsufficientStock(
            [{"sku": variant.sku, "store": source.code, "requested": needed, "available": available}],
            f"{source.code} has {available} of {variant.sku} available (wanted {needed})",
        )
    if line is None:
        line = new_line(
            cart,
            variant,
            quantity,
            fulfilment=fulfilment,
            source_location_id=source.id,
            collect_location_id=collect_location.id if collect_location else None,
            ship_to=address,
        )
    else:
        line.quantity = wanted
    _touch(cart)
    return cart, line


def where_else(store: str, sku: str) -> list[dict]:
    """The other active locations with ``sku`` available now (the last committed numbers, unlocked), for the
    tablet to offer: the warehouse(s) first, then stores by available units, most first (then by code).  Each
    ``{"location", "name", "kind", "available"}``.  ValidationError naming ``store`` or ``sku`` when unknown."""
    here = inventory.get_location(store, kinds=("store",))
    if inventory.find_variant_by_sku(sku or "") is None:
        raise ValidationError(f"no product with SKU {sku!r}", field="sku")
    items, _ = inventory.availability([sku])
    locations = {location.code: location for location in inventory.list_locations()}
    found = [
        {"location": item["store"], "name": locations[item["store"]].name, "kind": locations[item["store"]].kind, "available": item["available"]}
        for item in items
        if item["store"] != here.code and item["available"] > 0 and item["store"] in locations
    ]
    return sorted(found, key=lambda row: (row["kind"] != "warehouse", -row["available"], row["location"]))


def fulfilment_details(line) -> dict | None:
    """How a cart or order line leaves the store, for the API and the receipt: None for take-now, else
    ``{"kind", "from", "ship_to", "collect_at", "text"}`` with ``text`` like "ships from WH-EU to Lea Schäfer,
    Torstraße 1, 10115 Berlin, DE" or "collect at MUC-MAX"."""
    if line.fulfilment not in ELSEWHERE:
        return None
    codes = _codes([line.source_location_id, line.collect_location_id])
    source = codes.get(line.source_location_id)
    details = {"kind": line.fulfilment, "from": source, "ship_to": None, "collect_at": None}
    if line.fulfilment == "ship":
        details["ship_to"] = dict(line.ship_to or {})
        details["text"] = f"ships from {source} to {address_text(line.ship_to or {})}"
    else:
        details["collect_at"] = codes.get(line.collect_location_id)
        details["text"] = f"collect at {details['collect_at']}" + (f" (from {source})" if source != details["collect_at"] else "")
    return details


def address_text(address: dict) -> str:
    """An address on one line: "Lea Schäfer, Torstraße 1, 10115 Berlin, DE"."""
    parts = [address.get("name"), address.get("line1"), address.get("line2")]
    parts.append(" ".join(part for part in (address.get("postal_code"), address.get("city")) if part))
    parts.append(address.get("country"))
    return ", ".join(part for part in parts if part)


def _codes(ids) -> dict[int, str]:
    wanted = [id for id in ids if id]
    if not wanted:
        return {}
    return {location.id: location.code for location in (db.session.get(inventory.Location, id) for id in wanted) if location}
