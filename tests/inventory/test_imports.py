"""Importing a Shopify product CSV export: what lands in the catalogue, and what the report says."""

import codecs
import io
import re
import unicodedata
from pathlib import Path

import pytest
from sqlalchemy import func, select

import inventory
from core import db
from core.errors import ValidationError
from core.outbox import OutboxEvent, register_endpoint
from inventory import (
    Barcode,
    Category,
    Product,
    ProductImage,
    StockMovement,
    Variant,
    get_product,
    import_shopify_csv,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "shopify"
CLEAN = FIXTURES / "clean_export.csv"
MESSY = FIXTURES / "messy_export.csv"
EXPORT_2024 = FIXTURES / "export_2024.csv"
MULTI_LOCATION = FIXTURES / "multi_location_export.csv"
NO_SKU = FIXTURES / "no_sku_export.csv"  # the clean export as a store without SKUs exports it
CDN = "https://cdn.shopify.com/s/files/1/0612/3456/7890/products/"
HEADER = "Handle,Title,Option1 Name,Option1 Value,Variant SKU,Variant Price,Variant Barcode,Variant Inventory Qty,Status\n"


def import_file(path, **options):
    with open(path, "rb") as handle:
        report = import_shopify_csv(handle, **options)
    db.session.commit()
    return report


def import_text(text, encoding="utf-8", **options):
    report = import_shopify_csv(io.BytesIO(text.encode(encoding)), **options)
    db.session.commit()
    return report


def problems(report):
    return [(problem.line, problem.message) for problem in report.errors]


def on_hand(sku, store="S1"):
    items, _ = inventory.availability([sku], store)
    return items[0]["on_hand"]


def variants_of(handle):
    return {variant.sku: variant for variant in get_product(handle).variants}


def catalogue_snapshot():
    return {
        "products": db.session.execute(
            select(Product.id, Product.handle, Product.title, Product.status, Product.updated_at).order_by(Product.id)
        ).all(),
        "variants": db.session.execute(
            select(Variant.id, Variant.sku, Variant.options, Variant.price_amount, Variant.compare_at_amount, Variant.position).order_by(Variant.id)
        ).all(),
        "barcodes": db.session.execute(select(Barcode.id, Barcode.code, Barcode.variant_id).order_by(Barcode.id)).all(),
        "images": db.session.execute(select(ProductImage.id, ProductImage.url, ProductImage.position).order_by(ProductImage.id)).all(),
        "movements": db.session.scalar(select(func.count()).select_from(StockMovement)),
        "events": db.session.scalar(select(func.count()).select_from(OutboxEvent)),
    }


# --- a clean export -----------------------------------------------------------------------


def test_clean_export_creates_every_product_with_its_variants_options_and_prices():
    report = import_file(CLEAN)

    assert (report.created, report.changed, report.unchanged, report.variants, report.errors) == (4, 0, 0, 8, [])
    assert report.summary() == "4 products: 4 new, 0 changed, 0 unchanged; 8 variants"
    jacket = get_product("trail-jacket")
    assert (jacket.title, jacket.vendor, jacket.status, jacket.category.name) == ("Trail Jacket", "Northwind Outfitters", "active", "Jackets")
    assert jacket.tags == ["new-in", "outdoor", "waterproof"]
    assert (
        jacket.description
        == '<p>A light, waterproof shell for wet trails.</p><ul><li>3-layer recycled nylon</li><li>Taped seams, "helmet-ready" hood</li></ul>'
    )
    assert [(v.sku, v.options, v.title, v.price_amount, v.compare_at_amount, v.currency, [b.code for b in v.barcodes]) for v in jacket.variants] == [
        ("JKT-TRAIL-M-MOSS", {"size": "M", "color": "Moss"}, "M / Moss", 12900, 15900, "EUR", ["4006381333931"]),
        ("JKT-TRAIL-L-MOSS", {"size": "L", "color": "Moss"}, "L / Moss", 12900, 15900, "EUR", ["4006381333948"]),
        ("JKT-TRAIL-M-INK", {"size": "M", "color": "Ink"}, "M / Ink", 12900, None, "EUR", ["4006381333955"]),
        ("JKT-TRAIL-L-INK", {"size": "L", "color": "Ink"}, "L / Ink", 13500, None, "EUR", ["4006381333962"]),
    ]
    assert inventory.find_variant_by_barcode("4006381333962").sku == "JKT-TRAIL-L-INK"
    poncho = get_product("rain-poncho")
    assert (poncho.status, poncho.category.name, variants_of("rain-poncho")["PONCHO-OS"].price_amount) == ("archived", "Outerwear", 3995)
    assert variants_of("rain-poncho")["PONCHO-OS"].barcodes == []


def test_image_only_rows_add_images_ordered_by_image_position():
    import_file(CLEAN)

    assert [(image.url, image.alt) for image in get_product("trail-jacket").images] == [
        (CDN + "trail-jacket-moss-front.jpg?v=1712345678", "Trail Jacket in Moss, front"),
        (CDN + "trail-jacket-moss-back.jpg?v=1712345678", "Trail Jacket in Moss, back"),
        (CDN + "trail-jacket-ink-front.jpg?v=1712345679", "Trail Jacket in Ink, front"),
        (CDN + "trail-jacket-hood.jpg?v=1712345679", "The helmet-ready hood"),
    ]
    assert [image.alt for image in get_product("canvas-tote").images] == ["Canvas Tote, natural", "Canvas Tote, black"]


def test_category_falls_back_to_the_last_segment_of_the_product_category():
    import_file(CLEAN)

    tote = get_product("canvas-tote")
    assert (tote.category.name, tote.status, tote.tags) == ("Handbags", "draft", [])
    assert [(v.sku, v.options) for v in tote.variants] == [("TOTE-NATURAL", {"color": "Natural"}), ("TOTE-BLACK", {"color": "Black"})]


def test_default_title_product_has_one_variant_without_options():
    import_file(CLEAN)

    (beanie,) = get_product("merino-beanie").variants
    assert (beanie.sku, beanie.options, beanie.title, beanie.price_amount) == ("BEANIE-MERINO", {}, "Default", 2900)


# --- re-import --------------------------------------------------------------------------------


def test_reimport_updates_instead_of_duplicating_and_changes_nothing_else(create_location):
    create_location("S1")
    register_endpoint("https://partner.example/hooks", ["*"])
    db.session.commit()
    first = import_file(CLEAN, stock_location="S1")
    before = catalogue_snapshot()

    again = import_file(CLEAN, stock_location="S1")

    assert (first.created, first.changed, first.unchanged, first.stock_counts) == (4, 0, 0, 6)
    assert (again.created, again.changed, again.unchanged, again.variants, again.stock_counts, again.errors) == (0, 0, 4, 8, 0, [])
    assert again.summary() == "4 products: 0 new, 0 changed, 4 unchanged; 8 variants; 0 stock counts recorded at S1"
    assert catalogue_snapshot() == before
    assert len(before["products"]) == 4 and len(before["variants"]) == 8 and before["events"] > 0


def test_reimport_applies_what_changed_in_the_file():
    import_file(CLEAN)
    text = CLEAN.read_text(encoding="utf-8")
    changed = "\n".join(
        line
        for line in text.replace(
            "JKT-TRAIL-M-MOSS,850,shopify,5,deny,manual,129.00", "JKT-TRAIL-M-MOSS,850,shopify,5,deny,manual,119.00"
        ).splitlines()
        if "trail-jacket-hood.jpg" not in line
    )

    report = import_text(changed)

    assert (report.created, report.changed, report.unchanged) == (0, 1, 3)
    assert variants_of("trail-jacket")["JKT-TRAIL-M-MOSS"].price_amount == 11900
    assert len(get_product("trail-jacket").images) == 3
    assert db.session.scalar(select(func.count()).select_from(Product)) == 4


def test_a_reimport_tells_new_changed_and_unchanged_products_apart():
    import_file(CLEAN)
    untouched = {handle: get_product(handle).updated_at for handle in ("merino-beanie", "canvas-tote", "rain-poncho")}
    text = CLEAN.read_text(encoding="utf-8").replace(
        "JKT-TRAIL-L-INK,850,shopify,2,deny,manual,135,", "JKT-TRAIL-L-INK,850,shopify,2,deny,manual,139,"
    )
    text += "wool-scarf,Wool Scarf,,,,Scarves,,true,Title,Default Title,,,,,SCARF-WOOL,,,,,,35.00" + "," * 24 + "active\n"

    report = import_text(text)

    assert (report.created, report.changed, report.unchanged, report.errors) == (1, 1, 3, [])
    assert report.summary() == "5 products: 1 new, 1 changed, 3 unchanged; 9 variants"
    assert variants_of("trail-jacket")["JKT-TRAIL-L-INK"].price_amount == 13900
    db.session.expire_all()
    assert {handle: get_product(handle).updated_at for handle in untouched} == untouched


def test_a_bad_price_on_reimport_leaves_the_existing_variant_as_it_was():
    import_text(HEADER + "tee,Tee,Size,S,TEE-S,20.00,,,active\ntee,,,M,TEE-M,20.00,,,\n")

    report = import_text(HEADER + "tee,Tee,Size,S,TEE-S,22.00,,,active\ntee,,,M,TEE-M,twenty,,,\n")

    assert problems(report) == [(3, "SKU TEE-M: Variant Price 'twenty' is not a price; SKU TEE-M left as it was")]
    assert {sku: v.price_amount for sku, v in variants_of("tee").items()} == {"TEE-S": 2200, "TEE-M": 2000}


def test_an_unreadable_barcode_on_reimport_keeps_the_barcode_the_variant_has():
    import_text(HEADER + "tee,Tee,Size,S,TEE-S,20.00,4006381333931,,active\n")

    report = import_text(HEADER + "tee,Tee,Size,S,TEE-S,20.00,4.00638E+12,,active\n")

    assert problems(report) == [
        (
            2,
            "SKU TEE-S: barcode '4.00638E+12' is in scientific notation (a spreadsheet rounded it) and cannot be recovered; kept its barcode 4006381333931",
        )
    ]
    assert [b.code for b in variants_of("tee")["TEE-S"].barcodes] == ["4006381333931"]


# --- a messy export ---------------------------------------------------------------------------


def test_messy_export_with_bom_crlf_and_multi_line_html_imports_what_it_can():
    report = import_file(MESSY)

    assert (report.created, report.changed, report.unchanged, report.variants, report.generated_skus) == (3, 0, 0, 6, 1)
    assert sorted(p.handle for p in db.session.scalars(select(Product))) == ["field-cap", "linen-shirt", "wool-socks"]
    shirt = get_product("linen-shirt")
    assert shirt.description == (
        "<p>Breathable linen, garment-washed for a soft hand.</p>\n<ul>\n<li>100% European flax, 180 g/m²</li>\n"
        '<li>Relaxed fit; between sizes, size down</li>\n</ul>\n<p>Our "summer uniform", in sand and indigo.</p>'
    )
    assert (shirt.title, shirt.vendor, shirt.category.name, shirt.tags, shirt.status) == (
        "Linen Shirt",
        "Atelier Nord",
        "Shirts",
        ["linen", "summer", "shirts"],
        "active",
    )
    assert [(v.sku, v.options, v.price_amount, v.compare_at_amount) for v in shirt.variants] == [
        ("LIN-S-SAND", {"size": "S", "colour": "Sand"}, 7900, None),
        ("LIN-M-SAND", {"size": "M", "colour": "Sand"}, 7900, None),
        ("LINEN-SHIRT-L-SAND", {"size": "L", "colour": "Sand"}, 7900, None),
        ("LIN-M-INDIGO", {"size": "M", "colour": "Indigo"}, 8400, 9900),
    ]
    assert [v.sku_generated for v in shirt.variants] == [False, False, True, False]
    assert [image.alt for image in shirt.images] == ["Linen Shirt, sand", "Indigo, close-up of the weave, collar"]


def test_messy_export_reports_each_problem_on_the_line_its_row_starts():
    report = import_file(MESSY)

    assert problems(report) == [
        (11, "SKU LIN-M-INDIGO: barcode '5901234123496' has a wrong check digit (expected 5); imported without a barcode"),
        (12, "SKU LIN-L-INDIGO: Variant Price 'eighty' is not a price; variant skipped"),
        (
            13,
            "SKU CAP-FIELD: barcode '4.00638E+12' is in scientific notation (a spreadsheet rounded it) and cannot be recovered; imported without a barcode",
        ),
        (14, "product 'gift-card' is a gift card; gift cards are not imported"),
    ]
    assert [(note.line, note.message) for note in report.notes] == [
        (9, "no Variant SKU for 'linen-shirt' (L / Sand): generated SKU LINEN-SHIRT-L-SAND")
    ]
    assert report.summary() == "3 products: 3 new, 0 changed, 0 unchanged; 6 variants (1 with a generated SKU); 3 rows skipped, 2 warnings"


def test_barcodes_lose_apostrophes_and_spaces_and_twelve_digit_upcs_are_kept():
    import_file(MESSY)

    assert [(b.code, b.symbology) for b in variants_of("linen-shirt")["LIN-S-SAND"].barcodes] == [("5901234123471", "ean13")]
    assert [b.code for b in variants_of("linen-shirt")["LIN-M-SAND"].barcodes] == ["5901234123488"]
    assert [(b.code, b.symbology) for b in variants_of("wool-socks")["SOCK-WOOL"].barcodes] == [("036000291452", "upca")]
    assert inventory.find_variant_by_barcode("0036000291452").sku == "SOCK-WOOL"
    assert variants_of("linen-shirt")["LIN-M-INDIGO"].barcodes == []
    assert variants_of("field-cap")["CAP-FIELD"].barcodes == []


def test_an_all_digit_sku_that_shopify_wrote_with_a_leading_apostrophe_is_imported_without_it():
    text = HEADER + "tee,Tee,Size,S,'101,20.00,'4006381333931,,active\ntee,,,M,'0102,20.00,,,\n"

    report = import_text(text)
    again = import_text(text)

    assert (report.errors, report.created, again.unchanged) == ([], 1, 1)
    assert list(variants_of("tee")) == ["101", "0102"]
    assert inventory.find_variant_by_sku("101").product.handle == "tee"
    assert [b.code for b in variants_of("tee")["101"].barcodes] == ["4006381333931"]
    assert inventory.find_variant_by_sku("'101") is None


def test_published_false_without_a_status_column_is_a_draft_and_default_title_has_no_options():
    import_file(MESSY)

    socks = get_product("wool-socks")
    assert (socks.status, socks.variants[0].options, socks.variants[0].price_amount) == ("draft", {}, 1250)
    assert get_product("field-cap").status == "active"


def test_rows_of_one_handle_need_not_be_adjacent_nor_in_the_same_case():
    import_file(MESSY)

    assert db.session.scalar(select(func.count()).select_from(Product).where(Product.handle == "linen-shirt")) == 1
    assert variants_of("linen-shirt")["LIN-M-INDIGO"].product.handle == "linen-shirt"


def test_handles_in_any_script_import_and_rows_in_either_normal_form_are_one_product():
    nfd = unicodedata.normalize("NFD", "veste-légère")
    text = HEADER + (
        f"{nfd},Veste légère,Taille,S,VESTE-S,59.00,,,active\n"
        "veste-légère,,,M,VESTE-M,59.00,,,\n"
        "قميص-قطن,قميص قطن,المقاس,M,QAMIS-M,20.00,,,active\n"
        "áo-sơ-mi,Áo sơ mi,Kích cỡ,M,AO-M,15.00,,,active\n"
    )

    report = import_text(text)

    assert (report.errors, report.created) == ([], 3)
    assert sorted(db.session.scalars(select(Product.handle))) == sorted(["veste-légère", "قميص-قطن", "áo-sơ-mi"])
    assert list(variants_of("veste-légère")) == ["VESTE-S", "VESTE-M"]
    assert variants_of(nfd) == variants_of("veste-légère")
    assert get_product("قميص-قطن").variants[0].options == {"المقاس": "M"}
    assert import_text(text).unchanged == 3


def test_product_types_in_every_script_are_categories_of_their_own_and_a_case_variant_is_reported():
    text = "Handle,Title,Type,Variant SKU,Variant Price\n" + (
        "dress-ru,Платье,Платья,DRESS-RU,59.00\n"
        "dress-ar,فستان,فساتين,DRESS-AR,59.00\n"
        "shirt-jp,シャツ,シャツ,SHIRT-JP,29.00\n"
        "oxford,Oxford,Shirts,OXFORD,49.00\n"
        "linen,Linen,shirts,LINEN,49.00\n"
        "denim,Denim,SHIRTS,DENIM,49.00\n"
        "chambray,Chambray,shirts,CHAMBRAY,49.00\n"
    )

    report = import_text(text)
    again = import_text(text)

    assert [(c.name, c.slug) for c in db.session.scalars(select(Category).order_by(Category.id))] == [
        ("Платья", "платья"),
        ("فساتين", "فساتين"),
        ("シャツ", "シャツ"),
        ("Shirts", "shirts"),
    ]
    assert {get_product(handle).category.name for handle in ("linen", "denim", "chambray")} == {"Shirts"}
    assert problems(report) == [
        (6, "product 'linen': category 'shirts' is filed under 'Shirts': names that differ only in case are one category"),
        (7, "product 'denim': category 'SHIRTS' is filed under 'Shirts': names that differ only in case are one category"),
    ]  # once per spelling: not again for 'chambray' on line 8
    assert (again.unchanged, problems(again)) == (7, problems(report))


def test_windows_1252_export_is_read_and_missing_optional_columns_are_tolerated():
    report = import_file(FIXTURES / "windows_1252_export.csv")

    mug = get_product("cafe-creme-mug")
    assert (mug.title, mug.vendor, mug.description) == (
        "Café Crème Mug",
        "Müller & Söhne",
        "<p>Stoneware, 300 ml – dishwasher safe. Only €14.90!</p>",
    )
    assert (mug.status, mug.variants[0].price_amount, mug.variants[0].options) == ("active", 1490, {})
    assert report.summary() == "1 product: 1 new, 0 changed, 0 unchanged; 1 variant; read as Windows-1252 text"


def test_a_multi_line_record_is_reported_on_the_line_it_starts():
    text = (
        "Handle,Title,Body (HTML),Variant SKU,Variant Price\r\n"
        'scarf,Scarf,"<p>Two\r\nlines, and ""quotes""</p>\r\n",SCARF-1,12.999\r\n'
        "scarf,,,SCARF-2,\r\n"
    )

    report = import_text(text)

    assert problems(report) == [
        (2, "SKU SCARF-1: Variant Price '12.999' has more decimals than EUR allows; variant skipped"),
        (2, "product 'scarf' has no variant that can be imported; skipped"),
        (5, "SKU SCARF-2: no Variant Price; variant skipped"),
    ]
    assert report.summary() == "0 products: 0 new, 0 changed, 0 unchanged; 0 variants; 2 rows skipped"
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


def notes(report):
    return [(note.line, note.message) for note in report.notes]


def test_a_variant_without_a_sku_gets_a_readable_generated_one_the_same_on_every_import():
    text = HEADER + "tee,Tee,Size,S,TEE-S,20.00,,,active\ntee,,,M,,20.00,,,\nmug,Mug,Title,Default Title,,9.00,,,active\n"

    report = import_text(text)
    ids = {variant.sku: variant.id for variant in db.session.scalars(select(Variant))}
    again = import_text(text)

    assert (report.errors, report.created, report.variants, report.generated_skus) == ([], 2, 3, 2)
    assert notes(report) == [
        (3, "no Variant SKU for 'tee' (M): generated SKU TEE-M"),
        (4, "no Variant SKU for 'mug' (Default Title): generated SKU MUG"),
    ]
    assert report.summary() == "2 products: 2 new, 0 changed, 0 unchanged; 3 variants (2 with a generated SKU)"
    assert [(v.sku, v.sku_generated) for v in get_product("tee").variants] == [("TEE-S", False), ("TEE-M", True)]
    assert [(v.sku, v.sku_generated, v.options) for v in get_product("mug").variants] == [("MUG", True, {})]
    assert (again.unchanged, again.errors, notes(again)) == (2, [], notes(report))
    assert {variant.sku: variant.id for variant in db.session.scalars(select(Variant))} == ids


def test_a_generated_sku_is_unique_fits_its_column_and_never_takes_a_sku_the_file_or_the_catalogue_gives(create_product):
    create_product(handle="other", skus=("BAG-RED",))
    long_handle = "a-" + "very-long-handle-" * 14
    text = HEADER + (
        "cap,Cap,Colour,Red,,9.00,,,active\n"  # CAP-RED is given to another product further down
        "bag,Bag,Colour,Red,,9.00,,,active\n"  # BAG-RED is another product's already
        "veste-légère,Veste,Taille,M,,59.00,,,active\n"
        "veste-legere,Veste,Taille,M,,59.00,,,active\n"  # folds to the same letters
        "قميص-قطن,قميص,المقاس,M,,20.00,,,active\n"  # nothing of the handle survives ASCII folding
        f"{long_handle},Long,Size,M,,9.00,,,active\n"
        "hat,Hat,Colour,Red,CAP-RED,9.00,,,active\n"
    )

    report = import_text(text)
    again = import_text(text)

    skus = {handle: get_product(handle).variants[0].sku for handle in ("cap", "bag", "veste-légère", "veste-legere", "قميص-قطن", long_handle, "hat")}
    assert report.errors == [] and report.generated_skus == 6
    assert re.fullmatch(r"CAP-RED-[0-9A-F]{6}", skus["cap"]) and skus["hat"] == "CAP-RED"
    assert re.fullmatch(r"BAG-RED-[0-9A-F]{6}", skus["bag"])
    assert skus["veste-légère"] == "VESTE-LEGERE-M" and re.fullmatch(r"VESTE-LEGERE-M-[0-9A-F]{6}", skus["veste-legere"])
    assert re.fullmatch(r"M-[0-9A-F]{6}", skus["قميص-قطن"])
    assert len(skus[long_handle]) <= 100 and re.fullmatch(r"A-VERY-LONG-HANDLE-.*-[0-9A-F]{6}", skus[long_handle])
    assert (again.unchanged, again.errors) == (7, [])
    assert {handle: get_product(handle).variants[0].sku for handle in skus} == skus


def test_a_real_sku_for_a_variant_with_a_generated_one_renames_it_and_keeps_its_stock_and_history(create_location):
    create_location("S1")
    import_text(HEADER + "tee,Tee,Size,S,TEE-S,20.00,,4,active\ntee,,,M,,20.00,4006381333931,5,\n", stock_location="S1")
    (generated,) = [variant for variant in get_product("tee").variants if variant.sku_generated]
    variant_id, history = generated.id, [(m.kind, m.quantity) for m in inventory.movements("S1", "TEE-M")]
    inventory.record_movement("S1", "TEE-M", "adjust", -1, reason="damaged")
    db.session.commit()

    report = import_text(HEADER + "tee,Tee,Size,S,TEE-S,20.00,,4,active\ntee,,,M,'40512,20.00,4006381333931,4,\n", stock_location="S1")

    assert (report.errors, report.changed, report.renamed_skus, report.stock_counts) == ([], 1, 1, 0)
    assert notes(report) == [(3, "SKU 40512 replaces the generated SKU TEE-M of 'tee' (M); its stock and history stay with it")]
    assert (
        report.summary()
        == "1 product: 0 new, 1 changed, 0 unchanged; 2 variants (1 generated SKU replaced by Shopify's); 0 stock counts recorded at S1"
    )
    renamed = variants_of("tee")["40512"]
    assert (renamed.id, renamed.sku_generated, [b.code for b in renamed.barcodes]) == (variant_id, False, ["4006381333931"])
    assert inventory.find_variant_by_sku("TEE-M") is None and on_hand("40512") == 4
    assert [(m.kind, m.quantity) for m in inventory.movements("S1", "40512")] == [("adjustment", -1), *history]
    assert inventory.ledger_mismatches() == []
    assert import_text(HEADER + "tee,Tee,Size,S,TEE-S,20.00,,4,active\ntee,,,M,'40512,20.00,4006381333931,4,\n").unchanged == 1


def test_an_export_without_skus_imports_whole_and_the_export_that_brings_them_renames_every_variant_keeping_its_stock(create_location):
    create_location("S1")

    first = import_file(NO_SKU, stock_location="S1")
    by_options = {(v.product.handle, tuple(v.options.values())): (v.id, v.sku) for v in db.session.scalars(select(Variant))}
    again = import_file(NO_SKU, stock_location="S1")
    later = import_file(CLEAN, stock_location="S1")

    assert (first.errors, first.created, first.variants, first.generated_skus, first.stock_counts) == ([], 4, 8, 8, 6)
    assert sorted(sku for _, sku in by_options.values()) == [
        "CANVAS-TOTE-BLACK",
        "CANVAS-TOTE-NATURAL",
        "MERINO-BEANIE",
        "RAIN-PONCHO-ONE-SIZE",
        "TRAIL-JACKET-L-INK",
        "TRAIL-JACKET-L-MOSS",
        "TRAIL-JACKET-M-INK",
        "TRAIL-JACKET-M-MOSS",
    ]
    assert (again.unchanged, again.stock_counts, again.errors) == (4, 0, [])
    assert (later.errors, later.changed, later.renamed_skus, later.generated_skus, later.stock_counts) == ([], 4, 8, 0, 0)
    assert {(v.product.handle, tuple(v.options.values())): v.id for v in db.session.scalars(select(Variant))} == {
        key: variant_id for key, (variant_id, _) in by_options.items()
    }
    assert {sku: on_hand(sku) for sku in ("JKT-TRAIL-M-MOSS", "JKT-TRAIL-L-MOSS", "BEANIE-MERINO", "TOTE-NATURAL")} == {
        "JKT-TRAIL-M-MOSS": 5,
        "JKT-TRAIL-L-MOSS": 3,
        "BEANIE-MERINO": 12,
        "TOTE-NATURAL": 7,
    }
    assert not any(v.sku_generated for v in db.session.scalars(select(Variant)))
    assert inventory.ledger_mismatches() == []
    assert import_file(CLEAN, stock_location="S1").unchanged == 4


def test_a_real_sku_is_not_renamed_by_a_new_one(create_location, set_stock):
    create_location("S1")
    import_text(HEADER + "tee,Tee,Size,M,TEE-M,20.00,,,active\n")
    set_stock("S1", "TEE-M", 3)

    report = import_text(HEADER + "tee,Tee,Size,M,TEE-MEDIUM,20.00,,,active\n")

    assert (report.renamed_skus, notes(report)) == (0, [])
    assert sorted((v.sku, v.options["size"]) for v in get_product("tee").variants) == [("TEE-M", "M"), ("TEE-MEDIUM", "M")]  # TEE-M has stock: kept
    assert on_hand("TEE-M") == 3 and on_hand("TEE-MEDIUM") == 0


def test_a_variant_the_file_gives_no_sku_keeps_the_sku_it_has():
    import_text(HEADER + "tee,Tee,Size,S,TEE-S,20.00,,,active\ntee,,,M,TEE-M,20.00,,,\n")

    report = import_text(HEADER + "tee,Tee,Size,S,TEE-S,20.00,,,active\ntee,,,M,,20.00,,,\n")

    assert (report.unchanged, report.generated_skus, report.errors) == (1, 0, [])
    assert notes(report) == [(3, "no Variant SKU for 'tee' (M): its SKU TEE-M")]
    assert [(v.sku, v.sku_generated) for v in get_product("tee").variants] == [("TEE-S", False), ("TEE-M", False)]


def test_a_file_without_a_sku_column_imports_with_generated_skus():
    report = import_text("Handle,Title,Option1 Name,Option1 Value,Variant Price\ntee,Tee,Size,S,20.00\ntee,,,M,20.00\n")

    assert (report.errors, report.generated_skus) == ([], 2)
    assert list(variants_of("tee")) == ["TEE-S", "TEE-M"]


def test_prices_in_other_forms_become_integer_minor_units_of_the_given_currency():
    rows = "".join(
        f"p{i},P{i},Title,Default Title,SKU-{i},{price},,,active\n" for i, price in enumerate(['"1,299.00"', "129", "49.5", '"12,90"', "-5"])
    )

    report = import_text(HEADER + rows)
    yen = import_text(HEADER + "yen,Yen,Title,Default Title,SKU-YEN,1500,,,active\n", currency="jpy")

    prices = dict(db.session.execute(select(Variant.sku, Variant.price_amount)).all())
    assert prices == {"SKU-0": 129900, "SKU-1": 12900, "SKU-2": 4950, "SKU-3": 1290, "SKU-YEN": 1500}
    assert variants_of("yen")["SKU-YEN"].currency == "JPY" and yen.errors == []
    assert problems(report) == [
        (6, "SKU SKU-4: Variant Price '-5' is not a price; variant skipped"),
        (6, "product 'p4' has no variant that can be imported; skipped"),
    ]


def test_an_unknown_status_is_imported_as_draft_and_reported():
    report = import_text(HEADER + "tee,Tee,Title,Default Title,TEE,20.00,,,unlisted\n")

    assert get_product("tee").status == "draft"
    assert problems(report) == [(2, "product 'tee': Status 'unlisted' is not active, draft or archived; imported as draft")]


def test_a_semicolon_separated_file_resaved_by_a_spreadsheet_is_read():
    report = import_text("Handle;Title;Variant SKU;Variant Price;Variant Barcode\r\ntee;Tee;TEE-1;19,90;'4006381333931\r\n", encoding="cp1252")

    assert report.errors == []
    (tee,) = variants_of("tee").values()
    assert (tee.price_amount, [b.code for b in tee.barcodes]) == (1990, ["4006381333931"])


# --- the 2024+ column set, and columns a file may lack -----------------------------------------


def test_the_2024_column_set_imports_like_the_classic_one(create_location):
    create_location("S1")

    report = import_file(EXPORT_2024, stock_location="S1")

    assert (report.errors, report.created, report.variants, report.stock_counts) == ([], 3, 6, 4)
    shirt = get_product("harbour-overshirt")
    assert (shirt.title, shirt.vendor, shirt.category.name, shirt.tags, shirt.status) == (
        "Harbour Overshirt",
        "Kestrel & Co",
        "Overshirts",
        ["new-in", "workwear"],
        "active",
    )
    assert shirt.description.startswith("<p>A heavy twill overshirt, cut to layer.</p>\n<ul>\n<li>Organic cotton, 320 g/m²</li>")
    assert [(v.sku, v.options, v.price_amount, v.compare_at_amount, [b.code for b in v.barcodes]) for v in shirt.variants] == [
        ("HBR-S-INK", {"size": "S", "color": "Ink"}, 8900, 11000, ["4006381333986"]),
        ("HBR-M-INK", {"size": "M", "color": "Ink"}, 8900, 11000, ["4006381333993"]),
        ("HBR-S-SAND", {"size": "S", "color": "Sand"}, 8900, None, ["4006381334006"]),
        ("HBR-M-SAND", {"size": "M", "color": "Sand"}, 9400, None, ["4006381334013"]),
    ]
    assert [(image.alt, image.position) for image in shirt.images] == [
        ("Harbour Overshirt in Ink", 0),
        ("Harbour Overshirt in Sand", 1),
        ("Chest pocket, close-up", 2),
    ]
    socks = get_product("merino-socks")
    assert (socks.status, socks.category.name, [(v.sku, v.options, v.price_amount) for v in socks.variants]) == (
        "draft",
        "Socks",
        [("20431", {}, 1850)],
    )
    cap = get_product("field-cap")
    assert (cap.status, cap.category.name) == ("archived", "Hats")  # no Type: the last part of the Product category
    assert {sku: on_hand(sku) for sku in ("HBR-S-INK", "HBR-M-INK", "HBR-S-SAND", "HBR-M-SAND", "20431", "CAP-FIELD-OS")} == {
        "HBR-S-INK": 4,
        "HBR-M-INK": 6,
        "HBR-S-SAND": 0,
        "HBR-M-SAND": 2,
        "20431": 11,
        "CAP-FIELD-OS": 0,  # the cap's stock is not tracked
    }
    assert (
        import_file(EXPORT_2024, stock_location="S1").summary()
        == "3 products: 0 new, 0 changed, 3 unchanged; 6 variants; 0 stock counts recorded at S1"
    )


def test_column_names_are_matched_whatever_their_case_and_spacing():
    report = import_text(
        " url  HANDLE ,TITLE,Option1 Name,option1 value,  Variant sku,VARIANT PRICE,compare-AT price\ntee,Tee,Size,S,TEE-S,20.00,25.00\n"
    )

    assert report.errors == []
    (tee,) = variants_of("tee").values()
    assert (tee.sku, tee.options, tee.price_amount, tee.compare_at_amount) == ("TEE-S", {"size": "S"}, 2000, 2500)


def test_a_classic_export_of_a_multi_location_store_imports_and_says_once_that_it_brings_no_stock(create_location):
    create_location("S1")

    report = import_file(MULTI_LOCATION, stock_location="S1")

    assert (report.created, report.variants, report.stock_counts) == (2, 3, 0)
    assert problems(report) == [
        (1, "no Variant Inventory Qty column (Shopify leaves it out when the store has several locations): no stock recorded at S1"),
    ]
    assert report.summary() == "2 products: 2 new, 0 changed, 0 unchanged; 3 variants; 0 stock counts recorded at S1; 1 warning"
    assert import_file(MULTI_LOCATION).errors == []  # without a store no stock is expected


# --- conflicts and failures -----------------------------------------------------------------


def test_a_sku_owned_by_another_product_skips_that_row_and_a_claimed_barcode_is_left_out(create_product):
    create_product(handle="trail-jacket", skus=("JKT-M",), barcodes=["4006381333931"])
    text = HEADER + (
        "tee,Tee,Size,S,TEE-S,20.00,4006381333931,,active\n"
        "tee,,,M,JKT-M,20.00,,,\n"
        "hat,Hat,Title,Default Title,TEE-S,9.00,,,active\n"
        "cap,Cap,Title,Default Title,CAP,9.00,4006381333948,,active\n"
        "cup,Cup,Title,Default Title,CUP,9.00,4006381333948,,active\n"
    )

    report = import_text(text)

    assert problems(report) == [
        (2, "SKU TEE-S: barcode 4006381333931 belongs to SKU JKT-M; imported without a barcode"),
        (3, "SKU JKT-M belongs to product 'trail-jacket'; row skipped"),
        (4, "SKU TEE-S is already used by product 'tee' on line 2; row skipped"),
        (4, "product 'hat' has no variant that can be imported; skipped"),
        (6, "SKU CUP: barcode 4006381333948 is also given to SKU CAP on line 5; imported without a barcode"),
    ]
    assert list(variants_of("tee")) == ["TEE-S"] and variants_of("tee")["TEE-S"].barcodes == []
    assert variants_of("trail-jacket")["JKT-M"].product.handle == "trail-jacket"
    assert [b.code for b in variants_of("cap")["CAP"].barcodes] == ["4006381333948"]
    assert (report.created, report.changed, report.unchanged) == (3, 0, 0)


def test_a_failing_product_rolls_back_alone_and_the_others_are_imported(monkeypatch):
    real_upsert = inventory.imports.upsert_product

    def upsert_then_fail_for_mug(data):
        product, created = real_upsert(data)
        if product.handle == "mug":
            raise ValidationError("the mug broke after it was written")
        return product, created

    monkeypatch.setattr(inventory.imports, "upsert_product", upsert_then_fail_for_mug)
    text = HEADER + (
        "tee,Tee,Title,Default Title,TEE,20.00,,,active\n"
        "Bad Handle!,Bad,Title,Default Title,BAD,20.00,,,active\n"
        "mug,Mug,Title,Default Title,MUG,9.00,4006381333931,,active\n"
        "cap,Cap,Title,Default Title,CAP,9.00,,,active\n"
    )

    report = import_text(text)

    assert problems(report) == [
        (
            3,
            "product 'bad handle!' not imported: handle must be lower case, start with a letter or digit, and hold no '/', spaces or control characters",
        ),
        (4, "product 'mug' not imported: the mug broke after it was written"),
    ]
    assert sorted(db.session.scalars(select(Product.handle))) == ["cap", "tee"]
    assert sorted(db.session.scalars(select(Variant.sku))) == ["CAP", "TEE"]
    assert db.session.scalar(select(func.count()).select_from(Barcode)) == 0
    assert report.summary() == "2 products: 2 new, 0 changed, 0 unchanged; 2 variants; 2 rows skipped"


def test_a_file_without_the_shopify_columns_imports_nothing():
    report = import_text("sku,name,price\nTEE,Tee,20.00\n")

    assert problems(report) == [(1, "not a Shopify product CSV: no column Handle / URL handle, Title; nothing imported")]
    assert report.summary() == "nothing imported: not a Shopify product CSV: no column Handle / URL handle, Title"
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


@pytest.mark.parametrize("data", [b"", codecs.BOM_UTF8, codecs.BOM_UTF16_LE])
def test_an_empty_file_imports_nothing(data):
    report = import_shopify_csv(io.BytesIO(data))

    assert report.summary() == "nothing imported: the file is empty"


def test_a_malformed_csv_imports_nothing_and_names_the_line():
    report = import_text(HEADER + "tee,Tee,Title,Default Title,TEE,20.00,,,active\n" + 'mug,"Mug "large",Title,Default Title,MUG,9.00,,,active\n')

    assert [(line, message.split(" (")[0]) for line, message in problems(report)] == [(3, "the CSV cannot be read from here")]
    assert report.summary().startswith("nothing imported: the CSV cannot be read from here (")
    assert db.session.scalar(select(func.count()).select_from(Product)) == 0


# --- stock --------------------------------------------------------------------------------


def test_stock_location_sets_on_hand_as_a_count_and_a_negative_quantity_counts_as_zero(create_location, set_stock):
    create_location("S1")
    import_file(MESSY, stock_location="S1")
    set_stock("S1", "SOCK-WOOL", 5)

    report = import_file(MESSY, stock_location="S1")

    assert {sku: on_hand(sku) for sku in ("LIN-S-SAND", "LIN-M-SAND", "LIN-M-INDIGO", "CAP-FIELD", "SOCK-WOOL")} == {
        "LIN-S-SAND": 4,
        "LIN-M-SAND": 6,
        "LIN-M-INDIGO": 3,
        "CAP-FIELD": 5,
        "SOCK-WOOL": 0,
    }
    assert (10, "SKU SOCK-WOOL: Variant Inventory Qty -2 is negative (oversold online?); counted as 0") in problems(report)
    (last,) = inventory.movements("S1", "SOCK-WOOL", limit=1)
    assert (last.kind, last.quantity, last.counted, last.reason) == ("count", -5, 0, "Shopify import")
    assert report.stock_counts == 1
    assert inventory.ledger_mismatches() == []


def test_a_count_below_held_reservations_is_reported_and_the_import_goes_on(create_location):
    create_location("S1")
    import_file(CLEAN, stock_location="S1")
    inventory.reserve("S1", [{"sku": "JKT-TRAIL-M-MOSS", "quantity": 4}], "online_order", "WEB-1001")
    db.session.commit()
    text = CLEAN.read_text(encoding="utf-8")
    text = text.replace("JKT-TRAIL-M-MOSS,850,shopify,5,", "JKT-TRAIL-M-MOSS,850,shopify,2,").replace(
        "JKT-TRAIL-L-MOSS,850,shopify,3,", "JKT-TRAIL-L-MOSS,850,shopify,8,"
    )

    report = import_text(text, stock_location="S1")

    assert problems(report) == [
        (2, "SKU JKT-TRAIL-M-MOSS: on hand at S1 not set to 2: 4 are held for reservations; release holds before recording this count")
    ]
    assert (on_hand("JKT-TRAIL-M-MOSS"), on_hand("JKT-TRAIL-L-MOSS")) == (5, 8)
    assert (report.changed, report.unchanged, report.stock_counts) == (0, 4, 1)


def test_an_unknown_stock_location_is_refused_before_reading_the_file():
    with pytest.raises(ValidationError, match="unknown stock_location 'NOPE'"):
        import_shopify_csv(io.BytesIO(CLEAN.read_bytes()), stock_location="NOPE")
    with pytest.raises(ValidationError, match="currency"):
        import_shopify_csv(io.BytesIO(CLEAN.read_bytes()), currency="euro")


def test_stock_is_not_counted_when_shopify_does_not_track_the_variant(create_location):
    create_location("S1")
    text = "Handle,Title,Variant SKU,Variant Price,Variant Inventory Tracker,Variant Inventory Qty\ntee,Tee,TEE-1,20,,7\ntee,,TEE-2,20,shopify,3\n"

    report = import_text(text, stock_location="S1")

    assert (on_hand("TEE-1"), on_hand("TEE-2"), report.stock_counts) == (0, 3, 1)


# --- big files: streamed, written in batches, with progress --------------------------------


def _many_products(count):
    return HEADER + "".join(f"p{n},Product {n},Size,M,SKU-{n:05d},{10 + n % 7}.00,,{n % 5},active\n" for n in range(count))


def test_products_are_written_batch_by_batch_while_the_file_is_still_being_read(monkeypatch):
    data = _many_products(1500).encode()
    export = io.BytesIO(data)
    positions = []
    real_upsert = inventory.imports.upsert_product

    def upsert_noting_how_far_the_file_is_read(data):
        positions.append(export.tell())
        return real_upsert(data)

    monkeypatch.setattr(inventory.imports, "PRODUCT_BATCH", 20)
    monkeypatch.setattr(inventory.imports, "upsert_product", upsert_noting_how_far_the_file_is_read)

    report = import_shopify_csv(export)

    assert (report.created, report.errors) == (1500, [])
    assert positions[0] < len(data) / 4  # the first batch is written long before the last row is read


def test_progress_counts_the_rows_up_to_the_whole_file(monkeypatch):
    monkeypatch.setattr(inventory.imports, "PRODUCT_BATCH", 100)
    calls = []

    import_shopify_csv(io.BytesIO(_many_products(450).encode()), progress=lambda done, total: calls.append((done, total)))

    assert calls[0] == (0, 450) and calls[-1] == (450, 450)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls) and len(calls) >= 6
    assert {total for _, total in calls} == {450}


@pytest.mark.parametrize("batch", [1, 2, 500])
def test_rows_of_one_product_far_apart_make_one_product_whatever_the_batch(monkeypatch, batch):
    monkeypatch.setattr(inventory.imports, "PRODUCT_BATCH", batch)

    report = import_file(MESSY)

    assert (report.created, report.variants, len(report.errors)) == (3, 6, 4)
    assert [v.sku for v in get_product("linen-shirt").variants] == ["LIN-S-SAND", "LIN-M-SAND", "LINEN-SHIRT-L-SAND", "LIN-M-INDIGO"]
    assert [image.alt for image in get_product("linen-shirt").images] == ["Linen Shirt, sand", "Indigo, close-up of the weave, collar"]


def test_a_stream_that_cannot_seek_is_imported_all_the_same():
    class Pipe(io.RawIOBase):
        def __init__(self, data):
            self.data = io.BytesIO(data)

        def readable(self):
            return True

        def readinto(self, buffer):
            return self.data.readinto(buffer)

    report = import_shopify_csv(io.BufferedReader(Pipe(MESSY.read_bytes())))

    assert (report.created, report.variants) == (3, 6)


# --- the CLI ---------------------------------------------------------------------------------


def test_cli_import_products_imports_the_file_and_sets_stock_at_the_store(app, create_location):
    create_location("S1")

    result = app.test_cli_runner().invoke(args=["import-products", str(MESSY), "--store", "S1"])

    assert result.exit_code == 0, result.output
    assert (
        "3 products: 3 new, 0 changed, 0 unchanged; 6 variants (1 with a generated SKU); 5 stock counts recorded at S1; 3 rows skipped, 3 warnings"
        in result.stdout
    )
    assert "importing 10 rows" in result.stderr  # the progress bar's label (the bar itself on a terminal only)
    assert "line 12: SKU LIN-L-INDIGO: Variant Price 'eighty' is not a price; variant skipped" in result.stderr
    assert "line 9: no Variant SKU for 'linen-shirt' (L / Sand): generated SKU LINEN-SHIRT-L-SAND" in result.stderr
    db.session.expire_all()
    assert (on_hand("LIN-S-SAND"), on_hand("CAP-FIELD"), on_hand("SOCK-WOOL")) == (4, 5, 0)
    assert get_product("linen-shirt").variants[0].price_amount == 7900


def test_cli_import_products_fails_when_nothing_could_be_imported(app, tmp_path):
    path = tmp_path / "products.csv"
    path.write_text("sku,price\nTEE,20\n", encoding="utf-8")

    result = app.test_cli_runner().invoke(args=["import-products", str(path)])

    assert result.exit_code == 1
    assert "nothing imported: not a Shopify product CSV" in result.output
    assert "line 1: not a Shopify product CSV" in result.output


def test_values_too_long_for_the_catalogue_are_reported_alike_on_every_database():
    long_sku, long_title = "S" * 101, "T" * 501
    text = "Handle,Title,Variant SKU,Variant Price,Image Src\n" + (
        f"tee,Tee,{long_sku},20,\ntee,,TEE-1,20,https://cdn.example/{'x' * 2000}.jpg\nmug,{long_title},MUG,9,\n"
    )

    report = import_text(text)

    assert problems(report) == [
        (2, "Variant SKU is longer than 100 characters; variant skipped"),
        (3, "product 'tee': Image Src is longer than 2000 characters; image left out"),
        (4, "product 'mug': Title is longer than 500 characters; skipped"),
    ]
    assert list(variants_of("tee")) == ["TEE-1"] and get_product("tee").images == []


def test_a_utf16_export_with_a_byte_order_mark_is_read():
    report = import_shopify_csv(io.BytesIO("Handle\tTitle\tVariant SKU\tVariant Price\r\nthe-vert\tThé vert\tTEA-1\t8.50\r\n".encode("utf-16")))

    assert report.errors == [] and report.encoding == "UTF-16"
    assert get_product("the-vert").title == "Thé vert"
