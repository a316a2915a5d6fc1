"""The demo brand: Northwind Outfitters, a sports and fashion retailer with three stores and a warehouse.

``seed()`` loads a catalogue, stock, shelf positions, staff, a partner API key, kiosks and a few
open holds into an empty database.  Everything comes from one fixed random seed, so every fresh
clone gets the same products, SKUs, barcodes and stock.  ``describe()`` is the banner ``make run``
prints: it lists only the demo accounts that really exist in the database it is pointed at.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta
from itertools import product as combinations

import click
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

import inventory
from accounts import SCOPES, Staff, create_api_key, create_staff, find_api_key, find_kiosk, issue_kiosk_link, register_kiosk, set_staff_pin
from core import clock, db
from core.actor import Actor
from core.money import Money
from inventory import Location, Product

from .demo_appointments import seed_appointments

BRAND = "Northwind Outfitters"
CURRENCY = "EUR"
DEMO = Actor.system("demo data")
DEMO_PASSWORD = "shelfside-demo"
DEMO_API_KEY = "ssk_demo_northwind_partner_key_0001"
DEMO_API_KEY_NAME = "Northwind web shop (demo)"
RANDOM_SEED = 20240917
# GS1 prefixes 200-299 are for restricted in-house circulation: demo codes never clash with a real product.
DEMO_GS1_PREFIX = "209417"
SHOWCASE_SKUS = ("RTJ-MOSS-M", "T3RS-GLACIER-42")


@dataclass(frozen=True)
class DemoLocation:
    code: str
    name: str
    kind: str
    timezone: str
    address: str


STORES = (
    DemoLocation("BER-MITTE", "Berlin Mitte", "store", "Europe/Berlin", "Rosenthaler Straße 40, 10178 Berlin, Germany"),
    DemoLocation("MUC-MAX", "München Maxvorstadt", "store", "Europe/Berlin", "Augustenstraße 18, 80333 München, Germany"),
    DemoLocation("AMS-CENTRUM", "Amsterdam Centrum", "store", "Europe/Amsterdam", "Kalverstraat 92, 1012 PH Amsterdam, Netherlands"),
)
WAREHOUSE = DemoLocation("WH-EU", "EU Fulfilment Centre", "warehouse", "Europe/Berlin", "Am Logistikpark 7, 39126 Magdeburg, Germany")
STORE_CODES = tuple(store.code for store in STORES)

DEMO_LOGINS = [
    ("admin", "sofia@northwind.example", DEMO_PASSWORD, STORE_CODES),
    ("manager", "jonas@northwind.example", DEMO_PASSWORD, ("BER-MITTE",)),
    ("associate", "ana@northwind.example", DEMO_PASSWORD, ("BER-MITTE",)),
    ("manager", "mia@northwind.example", DEMO_PASSWORD, ("MUC-MAX",)),
    ("associate", "lukas@northwind.example", DEMO_PASSWORD, ("MUC-MAX",)),
    ("manager", "daan@northwind.example", DEMO_PASSWORD, ("AMS-CENTRUM",)),
    ("associate", "sanne@northwind.example", DEMO_PASSWORD, ("AMS-CENTRUM",)),
]
# the managers' approval PINs at the till (discounts above the threshold, price overrides, found stock, refunds)
DEMO_MANAGER_PINS = {
    "jonas@northwind.example": "2468",
    "mia@northwind.example": "1357",
    "daan@northwind.example": "8642",
    "sofia@northwind.example": "9753",
}
STAFF_NAMES = {
    "sofia@northwind.example": "Sofia Lindqvist",
    "jonas@northwind.example": "Jonas Becker",
    "ana@northwind.example": "Ana Sousa",
    "mia@northwind.example": "Mia Huber",
    "lukas@northwind.example": "Lukas Brandl",
    "daan@northwind.example": "Daan de Vries",
    "sanne@northwind.example": "Sanne Jansen",
}
DEMO_KIOSK_TOKENS = {
    "BER-MITTE": "kio_demo_ber_mitte_entrance_0001",
    "MUC-MAX": "kio_demo_muc_max_entrance_0001",
    "AMS-CENTRUM": "kio_demo_ams_centrum_entrance_0001",
}


# --- the range ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Colour:
    name: str
    family: str  # green | warm | blue | neutral: picks the tinted placeholder image


PALETTE = tuple(
    Colour(name, family)
    for family, names in {
        "green": ("Moss", "Pine", "Sage", "Lichen", "Juniper", "Fern"),
        "warm": ("Ember", "Rust", "Saffron", "Coral", "Clay", "Paprika"),
        "blue": ("Glacier", "Fjord", "Navy", "Storm", "Lagoon", "Cobalt"),
        "neutral": ("Slate", "Black", "Bone", "Sand", "Stone", "Basalt", "Oatmeal"),
    }.items()
    for name in names
)
COLOURS = {colour.name: colour for colour in PALETTE}
IMAGE_FAMILIES = ("green", "warm", "blue", "neutral")

SHOE_SIZES = tuple(str(size) for size in range(38, 47))
APPAREL_SIZES = ("XS", "S", "M", "L", "XL", "XXL")
SOCK_SIZES = ("35-38", "39-42", "43-46")
ONE_SIZE = ("One size",)
EDGE_SIZES = {"38", "46", "XS", "XXL"}  # often carried online only


@dataclass(frozen=True)
class Line:
    """A category as the brand merchandises it: names, sizes, price band and where it sits in a store."""

    category: str
    weight: int
    models: tuple[str, ...]
    kinds: tuple[tuple[str, str], ...]  # (product type, the sentence that sells it)
    size_runs: tuple[tuple[str, ...], ...]
    price_euros: tuple[int, int]
    zone: str
    aisles: tuple[str, ...]
    vendors: tuple[str, ...]
    tags: tuple[str, ...]
    details: tuple[str, ...]
    colours: tuple[int, ...] = (2, 2, 2, 2, 3)  # how many colourways, drawn evenly
    versions: tuple[int, ...] = ()

    @property
    def image_stem(self) -> str:
        return inventory.slugify(self.category)


SHOE_RUNS = (SHOE_SIZES[:6], SHOE_SIZES[2:], SHOE_SIZES[1:8])  # women's 38–43, men's 40–46, unisex 39–45
APPAREL_RUNS = (APPAREL_SIZES[:5], APPAREL_SIZES[1:], APPAREL_SIZES[1:5], APPAREL_SIZES[1:5])

LINES = (
    Line(
        "Running shoes",
        10,
        ("Tempo", "Stride", "Pacer", "Cadence", "Velo", "Glide", "Swift", "Tailwind", "Kinetic", "Drift"),
        (
            ("Running Shoe", "A cushioned daily trainer for easy miles and long runs."),
            ("Racing Shoe", "A light, carbon-plated shoe for tempo days and race day."),
            ("Stability Shoe", "A supportive road shoe that keeps its shape mile after mile."),
        ),
        SHOE_RUNS,
        (100, 180),
        "Footwear wall",
        ("F1", "F2"),
        ("Northwind Outfitters", "Kestrel Athletic"),
        ("running", "road", "shoes"),
        (
            "Engineered mesh upper, 8 mm drop.",
            "Recycled knit upper and a rubber outsole where it wears.",
            "Supercritical foam midsole, 6 mm drop.",
            "Reflective details for early mornings.",
        ),
        versions=(2, 3, 4, 5),
    ),
    Line(
        "Trail shoes",
        7,
        ("Ridgeline", "Scree", "Talus", "Cairn", "Switchback", "Moraine", "Fellrunner", "Krag"),
        (
            ("Trail Shoe", "Grippy and protective for technical mountain trails."),
            ("Trail Shoe GTX", "Waterproof and grippy for wet trails and winter runs."),
            ("Hiking Shoe", "A light hiker for long days over roots, rock and mud."),
        ),
        SHOE_RUNS,
        (110, 190),
        "Footwear wall",
        ("F2", "F3"),
        ("Northwind Outfitters", "Fjellsti"),
        ("trail", "running", "shoes", "grip"),
        ("5 mm lugs and a rock plate.", "Gusseted tongue keeps grit out.", "Sticky rubber outsole, 4 mm drop.", "Protective toe cap."),
    ),
    Line(
        "Jackets",
        14,
        ("Ridgeline", "Summit", "Fjord", "Halden", "Stormfront", "Tundra", "Nordkapp", "Cirrus", "Vantage", "Skyline"),
        (
            ("Trail Jacket", "A packable shell for changeable mountain weather."),
            ("Rain Jacket", "Keeps the rain out on the commute and the trail alike."),
            ("Insulated Jacket", "Synthetic warmth that keeps working when it gets damp."),
            ("Down Jacket", "Light, warm and packable for cold, dry days."),
            ("Softshell Jacket", "Stretchy, breathable and wind resistant for active days."),
            ("Wind Jacket", "A featherweight layer that stops the wind and fits in a pocket."),
        ),
        APPAREL_RUNS,
        (130, 300),
        "Outerwear",
        ("A1", "A2", "A3"),
        ("Northwind Outfitters", "Alpenglow"),
        ("outerwear", "hiking", "layering"),
        (
            "PFC-free water repellent finish.",
            "Two zipped hand pockets and a chest pocket.",
            "Adjustable hood and hem.",
            "Made with recycled nylon.",
            "Packs into its own pocket.",
        ),
    ),
    Line(
        "Fleeces",
        10,
        ("Alder", "Birch", "Lodge", "Cinder", "Heath", "Basecamp", "Marram", "Larch"),
        (
            ("Grid Fleece", "A breathable grid fleece that dries fast and packs small."),
            ("Half-Zip Fleece", "A classic midlayer for cold starts."),
            ("Full-Zip Fleece", "The cosy layer for camp, cabin and city."),
            ("Fleece Hoodie", "A soft hooded fleece for after the hike."),
            ("Pile Fleece", "High-pile warmth with a retro look."),
        ),
        APPAREL_RUNS,
        (60, 130),
        "Outerwear",
        ("A3", "A4"),
        ("Northwind Outfitters", "Harbour & Pine"),
        ("fleece", "midlayer", "layering"),
        ("Made from recycled polyester.", "Thumb loops and a zipped chest pocket.", "Brushed inside, smooth outside.", "Regular fit."),
    ),
    Line(
        "Base layers",
        8,
        ("Lumi", "Frost", "Aura", "Halo", "Pulse", "Nordic"),
        (
            ("Merino 200 Crew", "Next-to-skin merino warmth that stays fresh for days."),
            ("Merino 150 Long-Sleeve", "A light merino layer for high-output winter days."),
            ("Merino Half-Zip", "A merino top that vents when the climb gets steep."),
            ("Thermal Tights", "Warm legs under shell trousers or on their own for winter runs."),
        ),
        APPAREL_RUNS,
        (40, 100),
        "Tops & base layers",
        ("B1", "B2"),
        ("Northwind Outfitters", "Alpenglow"),
        ("base layer", "merino", "layering"),
        ("18.5 micron mulesing-free merino.", "Flatlock seams that never chafe.", "Odour resistant, machine washable."),
    ),
    Line(
        "T-shirts",
        14,
        ("Everyday", "Trailhead", "Daybreak", "Horizon", "Logo", "Tempo", "Breeze", "Harbour"),
        (
            ("Tee", "An easy tee for the trail and the weekend."),
            ("Tech Tee", "A quick-drying tee for runs and the gym."),
            ("Organic Cotton Tee", "Soft, heavy organic cotton that keeps its shape."),
            ("Graphic Tee", "A soft cotton tee with a mountain print."),
            ("Long-Sleeve Tee", "A light long-sleeve for cool mornings."),
        ),
        APPAREL_RUNS,
        (25, 50),
        "Tops & base layers",
        ("B2", "B3"),
        ("Northwind Outfitters", "Harbour & Pine", "Kestrel Athletic"),
        ("t-shirt", "everyday"),
        ("Regular fit.", "Relaxed fit, dropped shoulder.", "Slim fit with a reflective logo.", "Made in Portugal."),
        colours=(2, 2, 3),
    ),
    Line(
        "Shorts",
        8,
        ("Tempo", "Stride", "Trailhead", "Ridge", "Canyon", "Delta"),
        (
            ("5-inch Running Short", "Light shorts with a built-in liner that move with you."),
            ("Trail Short", "Stretchy shorts for long days on the trail."),
            ("Hiking Short", "Durable ripstop shorts with room for a map."),
            ("2-in-1 Short", "A running short with a compression liner."),
        ),
        APPAREL_RUNS,
        (35, 65),
        "Shorts & tights",
        ("B4",),
        ("Northwind Outfitters", "Kestrel Athletic"),
        ("shorts", "summer"),
        ("Zipped back pocket.", "Water repellent finish.", "Phone pocket in the waistband.", "Drawcord waist."),
    ),
    Line(
        "Leggings",
        7,
        ("Flow", "Cadence", "Summit", "Core", "Pulse", "Aurora"),
        (
            ("Running Tights", "Supportive tights for runs in every season."),
            ("7/8 Leggings", "Leggings for studio sessions and everything after."),
            ("High-Rise Leggings", "A high waistband that stays put on the move."),
            ("Thermal Tights", "Brushed-back warmth for winter miles."),
        ),
        APPAREL_RUNS,
        (50, 100),
        "Shorts & tights",
        ("B4", "B5"),
        ("Northwind Outfitters", "Kestrel Athletic"),
        ("leggings", "tights", "running"),
        ("Side pockets for a phone.", "Squat-proof four-way stretch.", "Reflective trims at the ankle."),
    ),
    Line(
        "Backpacks",
        26,
        ("Cairn", "Voyager", "Ridgeback", "Transit", "Fjord", "Basecamp", "Summit"),
        (
            ("Backpack", "A pack that carries a day in the hills or a laptop to work."),
            ("Daypack", "Light and stable for fast hikes."),
            ("Roll-Top Pack", "A waterproof roll-top for bike commutes and wet days."),
            ("Travel Pack", "Opens like a suitcase, carries like a backpack."),
        ),
        (ONE_SIZE,),
        (60, 180),
        "Packs & travel",
        ("C1", "C2"),
        ("Northwind Outfitters", "Fjellsti"),
        ("backpack", "travel", "hiking"),
        ("Padded laptop sleeve.", "Ventilated back panel.", "Made from recycled, water repellent nylon.", "Hip belt pockets and a rain cover."),
        colours=(2, 3, 3, 4, 5),
        versions=(12, 18, 20, 22, 28, 30, 35, 40),
    ),
    Line(
        "Socks",
        22,
        ("Trail", "Running", "Merino Hiking", "Everyday", "Ultralight", "Alpine"),
        (
            ("Crew Sock", "Socks that stay put and keep feet dry."),
            ("Quarter Sock", "Cushioned where it matters, thin where it does not."),
            ("No-Show Sock 3-Pack", "Three pairs of low socks for every day."),
            ("Ski Sock", "Over-the-calf warmth without pressure points."),
        ),
        (SOCK_SIZES,),
        (13, 25),
        "Accessories",
        ("D1",),
        ("Northwind Outfitters", "Kestrel Athletic"),
        ("socks", "merino"),
        ("Seamless toe.", "Merino blend with arch support.", "Lifetime guarantee."),
        colours=(2, 2, 3),
    ),
    Line(
        "Caps",
        26,
        ("Logo", "Tempo", "Ridge", "Daybreak", "Cairn", "Harbour"),
        (
            ("Trail Cap", "A light cap that packs flat."),
            ("Running Cap", "Sun and sweat managed on every run."),
            ("5-Panel Cap", "A soft five-panel for trail and town."),
            ("Trucker Cap", "A mesh-back classic with an embroidered patch."),
        ),
        (ONE_SIZE,),
        (25, 35),
        "Accessories",
        ("D2",),
        ("Northwind Outfitters", "Harbour & Pine"),
        ("cap", "summer", "sun"),
        ("Adjustable strap.", "Quick-dry sweatband.", "UPF 50 fabric."),
        colours=(2, 3, 4, 5),
    ),
    Line(
        "Beanies",
        22,
        ("Merino", "Fisherman", "Alpine", "Lodge", "Harbour", "Nordic"),
        (
            ("Beanie", "Warm ears from first frost to spring."),
            ("Cuffed Beanie", "A soft rib knit that keeps its shape."),
            ("Pom Beanie", "A chunky knit with a faux-fur pom."),
            ("Running Headband", "Keeps ears warm and lets the head breathe."),
        ),
        (ONE_SIZE,),
        (25, 40),
        "Accessories",
        ("D2", "D3"),
        ("Northwind Outfitters", "Alpenglow"),
        ("beanie", "winter"),
        ("Merino wool.", "Recycled wool blend.", "Fleece-lined band."),
        colours=(2, 3, 4, 5),
    ),
    Line(
        "Bottles",
        16,
        ("Trail", "Summit", "Transit", "Tempo", "Alpine"),
        (
            ("Insulated Bottle 750 ml", "Cold for 24 hours, hot for 12."),
            ("Soft Flask 500 ml", "Squashes down when empty; fits a vest pocket."),
            ("Bottle 1 l", "A tough bottle for long days out."),
            ("Travel Mug 350 ml", "Coffee that is still hot at the trailhead."),
        ),
        (ONE_SIZE,),
        (20, 40),
        "Accessories",
        ("D3",),
        ("Northwind Outfitters",),
        ("bottle", "hydration"),
        ("Stainless steel, BPA free.", "Leak-proof cap.", "Dishwasher safe."),
        colours=(2, 3, 4, 5),
    ),
)
LINES_BY_CATEGORY = {line.category: line for line in LINES}


@dataclass
class PlannedVariant:
    sku: str
    size: str
    colour: str
    barcode: str


@dataclass
class PlannedProduct:
    line: Line
    handle: str
    title: str
    description: str
    vendor: str
    tags: list[str]
    status: str
    price: int
    compare_at: int | None
    colours: list[str]
    sizes: tuple[str, ...]
    variants: list[PlannedVariant] = field(default_factory=list)
    online_only: bool = False

    def as_upsert(self) -> dict:
        images = [
            {"url": f"/static/products/{self.line.image_stem}-{COLOURS[self.colours[0]].family}.svg", "alt": f"{self.title} in {self.colours[0]}"}
        ]
        second = next((c for c in self.colours[1:] if COLOURS[c].family != COLOURS[self.colours[0]].family), None)
        if second is not None:
            images.append({"url": f"/static/products/{self.line.image_stem}-{COLOURS[second].family}.svg", "alt": f"{self.title} in {second}"})
        compare = Money(self.compare_at, CURRENCY) if self.compare_at else None
        return {
            "handle": self.handle,
            "title": self.title,
            "description": self.description,
            "vendor": self.vendor,
            "category": self.line.category,
            "status": self.status,
            "tags": self.tags,
            "images": images,
            "variants": [
                {
                    "sku": v.sku,
                    "price": Money(self.price, CURRENCY),
                    "compare_at_price": compare,
                    "barcodes": [v.barcode],
                    "options": {"size": v.size, "color": v.colour},
                }
                for v in self.variants
            ],
        }


# The first products are fixed so that the README, the banner and a demo script can name them.
SHOWCASE = (
    ("Jackets", "Ridgeline Trail Jacket", "RTJ", ("Moss", "Slate", "Ember"), APPAREL_SIZES, 22995, None),
    ("Running shoes", "Tempo 3 Running Shoe", "T3RS", ("Glacier", "Black", "Ember"), SHOE_SIZES, 13995, 15995),
    ("Backpacks", "Cairn 28 Backpack", "C28B", ("Moss", "Black", "Sand", "Rust"), ONE_SIZE, 12995, None),
)


def _price(rng: random.Random, low: int, high: int) -> int:
    """A shelf price in cents ending in .95, inside the band (euros)."""
    return rng.randrange(low, high + 1, 5) * 100 - 5 if high - low >= 5 else rng.randint(low, high) * 100 - 5


def _prefix(title: str, taken: set[str]) -> str:
    initials = "".join(word[0] if word[0].isalpha() else word for word in title.replace("-", " ").replace("/", " ").split() if word[0].isalnum())
    initials = initials.upper()[:5]
    prefix, counter = initials, 2
    while prefix in taken:
        prefix, counter = f"{initials}{counter}", counter + 1
    taken.add(prefix)
    return prefix


def _titles(line: Line, rng: random.Random, needed: int, taken: set[str]) -> list[tuple[str, str]]:
    """``needed`` new (title, kind) pairs for the line, never one already taken."""
    kinds = [kind for kind, _ in line.kinds]
    if line.versions:
        pool = [(f"{m} {v} {k}", k) for m, v, k in combinations(line.models, line.versions, kinds)]
    else:
        pool = [(f"{m} {k}", k) for m, k in combinations(line.models, kinds)]
    rng.shuffle(pool)
    titles: list[tuple[str, str]] = []
    editions = ("", " II", " III", " IV", " V", " VI", " VII", " VIII", " IX", " X")
    edition = 0
    while len(titles) < needed:
        suffix = editions[edition] if edition < len(editions) else f" {edition + 1}"
        for title, kind in pool:
            if len(titles) == needed:
                break
            if title + suffix not in taken:
                taken.add(title + suffix)
                titles.append((title + suffix, kind))
        edition += 1
    return titles


def _shares(total: int) -> dict[str, int]:
    """How many products each line gets: proportional to its weight, largest remainders first."""
    weights = sum(line.weight for line in LINES)
    exact = {line.category: total * line.weight / weights for line in LINES}
    shares = {category: int(value) for category, value in exact.items()}
    for category in sorted(exact, key=lambda c: exact[c] - shares[c], reverse=True)[: total - sum(shares.values())]:
        shares[category] += 1
    return shares


def plan_catalogue(products: int = 300) -> list[PlannedProduct]:
    """The demo catalogue, identical on every call with the same ``products``; the showcase products come first."""
    rng = random.Random(RANDOM_SEED)
    barcode_counter = iter(range(1, 1_000_000))
    taken_titles = {title for _, title, *_ in SHOWCASE}
    taken_prefixes = {prefix for _, _, prefix, *_ in SHOWCASE}
    planned: list[PlannedProduct] = []

    def add_variants(item: PlannedProduct, prefix: str) -> None:
        for colour in item.colours:
            for size in item.sizes:
                size_code = "OS" if size == ONE_SIZE[0] else size
                body = f"{DEMO_GS1_PREFIX}{next(barcode_counter):06d}"
                item.variants.append(PlannedVariant(f"{prefix}-{colour.upper()}-{size_code}", size, colour, inventory.make_ean13(body)))

    for category, title, prefix, colours, sizes, price, compare_at in SHOWCASE[: max(products, 0)]:
        line = LINES_BY_CATEGORY[category]
        pitch = next(sentence for kind, sentence in line.kinds if title.endswith(kind))
        item = PlannedProduct(
            line,
            inventory.slugify(title),
            title,
            f"{pitch} {' '.join(line.details[:2])}",
            BRAND,
            [*line.tags, "bestseller"],
            "active",
            price,
            compare_at,
            list(colours),
            sizes,
        )
        add_variants(item, prefix)
        planned.append(item)

    shares = _shares(max(products - len(planned), 0))
    generated = [(line, title, kind) for line in LINES for title, kind in _titles(line, rng, shares[line.category], taken_titles)]
    rng.shuffle(generated)
    for line, title, kind in generated:
        colours = rng.sample([c.name for c in PALETTE], rng.choice(line.colours))
        sizes = rng.choice(line.size_runs)
        price = _price(rng, *line.price_euros)
        compare_at = None
        if rng.random() < 0.15:
            compare_at = price
            price = max(_price(rng, int(price * 0.65 / 100), int(price * 0.8 / 100)), 995)
        status = "draft" if rng.random() < 0.04 else "active"
        tags = list(line.tags) + [rng.choice(("mens", "womens", "unisex"))]
        if compare_at:
            tags.append("sale")
        if rng.random() < 0.2:
            tags.append("new-season")
        if status == "draft":
            tags.append("coming-soon")
        item = PlannedProduct(
            line,
            inventory.slugify(title),
            title,
            f"{dict(line.kinds)[kind]} {' '.join(rng.sample(line.details, 2))}",
            rng.choice(line.vendors),
            tags,
            status,
            price,
            compare_at,
            colours,
            sizes,
            online_only=status == "draft" or rng.random() < 0.07,
        )
        add_variants(item, _prefix(title, taken_prefixes))
        planned.append(item)
    return planned


# --- stock ----------------------------------------------------------------------------------

STORE_RANGE_SHARE = {"BER-MITTE": 0.9, "MUC-MAX": 0.8, "AMS-CENTRUM": 0.72}  # share of the in-store range each store carries
STORE_UNITS = (0, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 5, 5, 6, 7, 8, 0, 0, 1)  # on hand at a store, drawn evenly
SHOWCASE_STOCK = {
    # sku: {location: on hand}: a product page that tells the whole story
    "RTJ-MOSS-S": {"BER-MITTE": 0, "MUC-MAX": 4, "AMS-CENTRUM": 1, "WH-EU": 18},
    "RTJ-MOSS-M": {"BER-MITTE": 3, "MUC-MAX": 2, "AMS-CENTRUM": 0, "WH-EU": 24},
    "RTJ-MOSS-L": {"BER-MITTE": 1, "MUC-MAX": 5, "AMS-CENTRUM": 2, "WH-EU": 20},
    "T3RS-GLACIER-42": {"BER-MITTE": 5, "MUC-MAX": 3, "AMS-CENTRUM": 2, "WH-EU": 40},
    "T3RS-GLACIER-43": {"BER-MITTE": 2, "MUC-MAX": 0, "AMS-CENTRUM": 1, "WH-EU": 36},
    "C28B-MOSS-OS": {"BER-MITTE": 6, "MUC-MAX": 4, "AMS-CENTRUM": 3, "WH-EU": 30},
}
OPEN_HOLDS = (
    # (location, kind, reference, lines, hours until it lapses)
    ("BER-MITTE", "pickup", "CC-100234", [("RTJ-MOSS-M", 1)], 7 * 24),
    ("BER-MITTE", "online_order", "WEB-58211", [("T3RS-GLACIER-42", 2)], 3 * 24),
    ("MUC-MAX", "appointment_hold", "APPT-MUC-0412", [("RTJ-MOSS-L", 1), ("C28B-MOSS-OS", 1)], 2 * 24),
    ("AMS-CENTRUM", "pickup", "CC-100251", [("T3RS-GLACIER-43", 1)], 7 * 24),
    ("WH-EU", "online_order", "WEB-58214", [("RTJ-MOSS-S", 2), ("C28B-MOSS-OS", 1)], 3 * 24),
)


def plan_stock(catalogue: list[PlannedProduct]) -> dict[tuple[str, str], int]:
    """Opening stock by (location code, SKU): the warehouse holds the most, stores 0–8 per SKU with
    zeros and ones among them, online-only products and many edge sizes only at the warehouse.
    A (store, SKU) listed with 0 is carried there but sold out; one not listed is not carried."""
    rng = random.Random(RANDOM_SEED + 1)
    stock: dict[tuple[str, str], int] = {}
    for item in catalogue:
        carried_by = [] if item.online_only else [code for code in STORE_CODES if rng.random() < STORE_RANGE_SHARE[code]]
        for variant in item.variants:
            edge = variant.size in EDGE_SIZES
            stock[(WAREHOUSE.code, variant.sku)] = 0 if rng.random() < 0.03 else rng.randint(4, 30) if edge else rng.randint(8, 60)
            for code in carried_by:
                if rng.random() < (0.45 if edge else 0.92):
                    stock[(code, variant.sku)] = rng.choice(STORE_UNITS)
    for sku, levels in SHOWCASE_STOCK.items():
        if any(v.sku == sku for item in catalogue for v in item.variants):
            for code, units in levels.items():
                stock[(code, sku)] = units
    return stock


def shelf_positions(catalogue: list[PlannedProduct], stock: dict[tuple[str, str], int]) -> list[tuple[str, str, str, str, str]]:
    """(store, SKU, zone, aisle, bay) for every variant a store carries: a product's whole size run
    sits on one bay, bays numbered along the category's aisles, each store laid out its own way."""
    positions = []
    for store_index, code in enumerate(STORE_CODES):
        rng = random.Random(RANDOM_SEED + 10 + store_index)
        next_bay: dict[str, int] = {}
        carried = [item for item in catalogue if any((code, v.sku) in stock for v in item.variants)]
        rng.shuffle(carried)
        for item in sorted(carried, key=lambda i: i.line.zone):
            aisle = rng.choice(item.line.aisles)
            next_bay[aisle] = next_bay.get(aisle, 0) + 1
            bay = str(next_bay[aisle])
            for variant in item.variants:
                if (code, variant.sku) in stock:
                    positions.append((code, variant.sku, item.line.zone, aisle, bay))
    return positions


# --- loading --------------------------------------------------------------------------------


def has_data() -> bool:
    """True when the database already holds products (demo or real): seeding would then be refused."""
    return db.session.scalar(select(Product.id).limit(1)) is not None


class DemoAlreadyLoaded(click.ClickException):
    """The database already holds products; demo data is only loaded into an empty catalogue.
    A ClickException, so ``flask seed-demo`` reports it in one line and exits with status 1."""


def seed(products: int = 300) -> str:
    """Load the demo brand into the current transaction (the caller commits) and answer a summary.

    Deterministic: the same ``products`` gives the same catalogue, SKUs, barcodes, stock and shelf
    positions on every database.  Every stock row comes with its ledger line, so on hand equals the
    sum of movements everywhere.  Raises DemoAlreadyLoaded when there are products already; demo
    stores, staff, the key and kiosks that exist already (made by hand before) are kept, not doubled.
    """
    if products < 1:
        raise click.BadParameter("the demo needs at least one product", param_hint="--products")
    if has_data():
        raise DemoAlreadyLoaded("the database already holds products; demo data is only loaded into an empty database")
    locations = {location.code: location for location in db.session.scalars(select(Location))}
    for spec in (*STORES, WAREHOUSE):
        if spec.code not in locations:
            locations[spec.code] = Location(code=spec.code, name=spec.name, kind=spec.kind, timezone=spec.timezone, address=spec.address)
            db.session.add(locations[spec.code])
    db.session.flush()

    catalogue = plan_catalogue(products)
    for item in catalogue:
        inventory.upsert_product(item.as_upsert(), actor=DEMO)

    stock = plan_stock(catalogue)
    inventory.receive_opening_stock([(code, sku, units) for (code, sku), units in stock.items()], actor=DEMO)

    positions = shelf_positions(catalogue, stock)
    inventory.set_shelf_positions(positions)

    existing_staff = set(db.session.scalars(select(Staff.email)))
    for role, email, password, stores in DEMO_LOGINS:
        if email not in existing_staff:
            create_staff(email, STAFF_NAMES[email], role, password, list(stores))
    if find_api_key(DEMO_API_KEY) is None:
        create_api_key(DEMO_API_KEY_NAME, list(SCOPES), key=DEMO_API_KEY)
    for code, token in DEMO_KIOSK_TOKENS.items():
        if find_kiosk(token) is None:
            register_kiosk(code, f"{locations[code].name} entrance kiosk", token=token)

    from .demo_clienteling import seed_customers  # the client book: customers, their history, notes

    customers = seed_customers(catalogue, stock)  # before the appointments, which find customers by email
    appointments = seed_appointments()  # before the holds below: see web.demo_appointments
    import clienteling
    import pos

    pos.seed_registers()  # two tablet registers, T1 and T2, at every store
    for code in STORE_CODES:  # German and Dutch VAT, prices include it
        rates = {"standard": 2100, "reduced": 900, "zero": 0} if code == "AMS-CENTRUM" else {"standard": 1900, "reduced": 700, "zero": 0}
        pos.configure_store(code, currency=CURRENCY, tax_mode="inclusive", tax_rates=rates)
    for staff in db.session.scalars(select(Staff).where(Staff.email.in_(list(DEMO_MANAGER_PINS)))):
        if staff.pin_hash is None:
            set_staff_pin(staff, DEMO_MANAGER_PINS[staff.email])
    follow_ups = clienteling.create_follow_ups()  # what the client book asks of the associates today
    tasks = f"{sum(follow_ups.values())} follow-up tasks"
    holds = 0
    for code, kind, reference, lines, hours in OPEN_HOLDS:
        if all(stock.get((code, sku), 0) >= quantity for sku, quantity in lines):
            inventory.reserve(code, [{"sku": sku, "quantity": q} for sku, q in lines], kind, reference, expires_in=hours * 3600, actor=DEMO)
            holds += 1
    db.session.flush()
    link_demo_pickups()

    variants = sum(len(item.variants) for item in catalogue)
    units = sum(stock.values())
    return (
        f"Seeded {BRAND}: {len(STORES)} stores and 1 warehouse, {len(catalogue)} products "
        f"({sum(item.status == 'draft' for item in catalogue)} draft), {variants} SKUs, "
        f"{len(stock)} stock rows holding {units} units, {len(positions)} shelf positions, "
        f"{len(DEMO_LOGINS)} staff, 1 partner API key, {len(DEMO_KIOSK_TOKENS)} kiosks, {holds} open holds, {customers}, {appointments}, {tasks}. "
        "`flask --app web demo-info` prints the logins and links."
    )


def link_demo_pickups() -> int:
    """Give each demo pickup (``OPEN_HOLDS`` of kind pickup) the online order it came from: an ``order_placed``
    event, a day old, on the timeline of a demo customer of that store (the first by id, not the showcase
    customer, whose story stays hers), so the tablet's pickups screen shows who collects.  Answers how many."""
    import clienteling

    from .demo_clienteling import SHOWCASE_EMAIL

    showcase = clienteling.find_customer_by_identity("email", SHOWCASE_EMAIL)
    linked = 0
    for code, kind, reference, lines, _ in OPEN_HOLDS:
        if kind != "pickup" or db.session.scalar(select(inventory.Reservation.id).where(inventory.Reservation.reference == reference)) is None:
            continue
        store = db.session.scalar(select(Location).where(Location.code == code))
        query = select(clienteling.Customer).where(
            clienteling.Customer.home_store_id == store.id,
            clienteling.Customer.kind == "customer",
            clienteling.Customer.merged_into_id.is_(None),
            clienteling.Customer.erased_at.is_(None),
            clienteling.Customer.name != "",
        )
        if showcase is not None:
            query = query.where(clienteling.Customer.id != showcase.id)
        customer = db.session.scalar(query.order_by(clienteling.Customer.id).limit(1))
        if customer is None:
            continue
        prices = {sku: inventory.find_variant_by_sku(sku).price_amount for sku, _ in lines}
        clienteling.record_activity(
            customer,
            "order_placed",
            channel="web",
            actor=DEMO,
            occurred_at=clock.now() - timedelta(days=1),
            data={
                "order_id": reference,
                "lines": [{"sku": sku, "quantity": q, "unit_price": Money(prices[sku], CURRENCY).to_dict()} for sku, q in lines],
                "total": Money(sum(prices[sku] * q for sku, q in lines), CURRENCY).to_dict(),
            },
            event_id=f"demo-{reference}",
        )
        linked += 1
    return linked


def renew_demo_kiosk_links() -> int:
    """Make the demo kiosks' published links (DEMO_KIOSK_TOKENS) work once more, for the demo kiosks that
    exist and are not revoked; commits, and answers how many were renewed.  Never raises for an empty or
    unmigrated database (``describe`` then says what to do)."""
    renewed = 0
    try:
        for token in DEMO_KIOSK_TOKENS.values():
            device = find_kiosk(token)
            if device is not None and device.token_used_at is not None:
                issue_kiosk_link(device.id, token=token)
                renewed += 1
        db.session.commit()
    except (OperationalError, ProgrammingError):
        db.session.rollback()
    return renewed


# --- the banner -----------------------------------------------------------------------------


def describe(port: int) -> str:
    """The text ``make run`` prints before serving: where to point a tablet, a kiosk and an API
    client, and the demo logins, kiosk links and partner key, but only those that exist (and are
    active, unrevoked) in this database.  Never raises for an empty or unmigrated database."""
    base = f"http://localhost:{port}"
    lines = [
        f"Shelfside is starting on {base}",
        "",
        f"  Tablet (staff sign-in)  {base}/login",
        f"  Partner API             {base}/api/v1",
        f"  OpenAPI document        {base}/api/v1/openapi.json",
        f"  Booking (public)        {base}/book/BER-MITTE   (customers book an appointment; no login)",
    ]
    try:
        present = set(
            db.session.scalars(select(Staff.email).where(Staff.email.in_([email for _, email, _, _ in DEMO_LOGINS]), Staff.active.is_(True)))
        )
        logins = [login for login in DEMO_LOGINS if login[1] in present]
        key = find_api_key(DEMO_API_KEY)
        kiosks = [(code, find_kiosk(token), token) for code, token in DEMO_KIOSK_TOKENS.items()]
        kiosks = [(code, device, token) for code, device, token in kiosks if device is not None and device.token_used_at is None]
        showcase = [sku for sku in SHOWCASE_SKUS if inventory.find_variant_by_sku(sku) is not None]
        stores = {store.code for store in inventory.list_locations(kinds=("store",))}
        from .demo_clienteling import demo_customer_line

        customer_line = demo_customer_line(base)
    except (OperationalError, ProgrammingError):
        lines += ["", "  The database has no tables yet: run `flask --app web db upgrade`, then `flask --app web seed-demo`."]
        return "\n".join(lines)
    finally:
        db.session.rollback()

    if not (logins or key or kiosks):
        lines += [
            "",
            "  This database holds no demo data. Load it into an empty database with `flask --app web seed-demo`,",
            "  or create accounts with `flask --app web create-staff` and `flask --app web create-api-key`.",
        ]
        return "\n".join(lines)

    if kiosks:
        lines += ["", "  Kiosk activation (open on the store's kiosk screen; each link works once, `demo-info` renews them):"]
        width = max(len(code) for code, _, _ in kiosks)
        for code, device, token in kiosks:
            lines.append(f"    {code:<{width}}  {base}/kiosk/activate/{token}")
    if logins:
        lines += ["", f"  Demo logins ({BRAND}; the seeded password unless someone changed it):"]
        width = max(len(email) for _, email, _, _ in logins)
        places = {email: "all stores" if role == "admin" else ", ".join(stores_of) for role, email, _, stores_of in logins}
        where_width = max(len(place) for place in places.values())
        for role, email, password, _ in logins:
            pin = f"  approval PIN {DEMO_MANAGER_PINS[email]}" if email in DEMO_MANAGER_PINS else ""
            lines.append(f"    {role:<9}  {email:<{width}}  {password}  {places[email]:<{where_width}}{pin}".rstrip())
    if customer_line:
        lines += ["", customer_line]
    if key is not None:
        skus = "&".join(f"sku={sku}" for sku in showcase) or "sku=<SKU>"
        store = "BER-MITTE" if "BER-MITTE" in stores else (sorted(stores) or ["<STORE>"])[0]
        lines += [
            "",
            f"  Demo partner API key (scopes: {', '.join(key.scopes)}):",
            f"    {DEMO_API_KEY}",
            "  Try it:",
            f"    curl -s -H 'Authorization: Bearer {DEMO_API_KEY}' '{base}/api/v1/availability?{skus}&store={store}'",
        ]
    return "\n".join(lines)
