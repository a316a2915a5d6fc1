"""A product's gallery follows the chosen variant: its colour's picture comes first."""

import re
from types import SimpleNamespace as Obj

import pytest

from accounts import create_staff, register_kiosk
from core import Money, db
from inventory import Location, upsert_product
from web.viewmodels import variant_image_index

GREEN, BLUE, NEUTRAL = (
    "/static/products/running-shoes-green.svg",
    "/static/products/running-shoes-blue.svg",
    "/static/products/running-shoes-neutral.svg",
)


def colourway_shoe():
    db.session.add(Location(code="S1", name="Berlin Mitte", kind="store"))
    variants = [
        {"sku": f"CW-{colour.upper()}-{size}", "price": Money(9900, "EUR"), "options": {"size": size, "color": colour}}
        for colour in ("Moss", "Deep Blue", "Sand")
        for size in ("41", "42")
    ]
    upsert_product(
        {
            "handle": "colourway-runner",
            "title": "Colourway Runner",
            "variants": variants,
            "images": [
                {"url": GREEN, "alt": "Colourway Runner in Moss"},
                {"url": BLUE, "alt": "Colourway Runner in Deep Blue"},
                {"url": NEUTRAL, "alt": "Sole detail"},
            ],
        }
    )
    db.session.commit()


@pytest.mark.parametrize(
    "colour, images, expected",
    [
        ("Moss", [("/a.jpg", "Runner in moss"), ("/b.jpg", "Runner in slate")], 0),
        ("Slate", [("/a.jpg", "Runner in moss"), ("/b.jpg", "Runner in slate")], 1),
        ("Deep Blue", [("/a.jpg", "Runner in blue"), ("/b.jpg", "Runner in deep blue")], 1),  # all the words, in a row
        ("Slate", [("/a.jpg", ""), ("https://cdn.example/files/runner-slate.jpg?v=2", "")], 1),  # else the file name
        ("Red", [("/a.jpg", "Runner in moss")], None),  # no picture of its own
        ("Moss", [("/a.jpg", "Mossy green")], None),  # a whole word, not part of one
    ],
)
def test_a_variants_picture_is_the_one_naming_its_colour(colour, images, expected):
    variant = Obj(options={"size": "M", "Color": colour})
    assert variant_image_index([Obj(url=u, alt=a) for u, a in images], variant) == expected


def test_a_variant_without_a_colour_has_no_picture_of_its_own():
    assert variant_image_index([Obj(url="/a.jpg", alt="moss")], Obj(options={"size": "M"})) is None


def first_picture(html: str) -> str:
    gallery = html.split("data-gallery>")[1]
    return re.search(r'<img src="([^"?]+)', gallery).group(1)


def test_the_product_page_opens_with_the_chosen_colours_picture_first(client):
    colourway_shoe()
    create_staff("ana@example.com", "Ana", "associate", "correct-horse", ["S1"])
    db.session.commit()
    client.post("/login", data={"email": "ana@example.com", "password": "correct-horse"})
    assert first_picture(client.get("/tablet/products/colourway-runner").get_data(as_text=True)) == GREEN
    assert first_picture(client.get("/tablet/products/colourway-runner?sku=CW-DEEP BLUE-42").get_data(as_text=True)) == BLUE
    sand = client.get("/tablet/products/colourway-runner?sku=CW-SAND-41").get_data(as_text=True)
    assert first_picture(sand) == GREEN  # no Sand picture: the product's own order


def test_the_kiosk_product_page_follows_the_colour_too(client):
    colourway_shoe()
    _, token = register_kiosk("S1", "Entrance")
    db.session.commit()
    client.get(f"/kiosk/activate/{token}")
    assert first_picture(client.get("/kiosk/products/colourway-runner?sku=CW-DEEP BLUE-41").get_data(as_text=True)) == BLUE
