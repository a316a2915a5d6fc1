"""Catalogue and live stock: the public face other packages may call."""
from . import events  # noqa: F401  (declares the event types)
from .availability import MAX_SKUS, availability
from .barcodes import check_digit, make_ean13, normalise as normalise_barcode
from .catalogue import (
    find_variant_by_barcode,
    find_variant_by_sku,
    get_or_create_category,
    get_product,
    list_categories,
    normalise_handle,
    search_products,
    slugify,
    upsert_product,
)
from .feeds import FEED_COLUMNS, availability_label, iter_local_inventory_feed
from .imports import ImportNote, ImportProblem, ImportReport, import_shopify_csv
from .models import (
    Barcode,
    Category,
    Location,
    Product,
    ProductImage,
    Reservation,
    ReservationLine,
    ShelfPosition,
    StockLevel,
    StockMovement,
    Transfer,
    TransferLine,
    Variant,
)
from .reservations import (
    commit_reservation,
    due_reservations,
    expire_reservation,
    get_reservation,
    release_reservation,
    reservation_payload,
    reserve,
)
from .stock import (
    count_location,
    get_location,
    ledger_mismatches,
    list_locations,
    low_stock,
    movements,
    receive_opening_stock,
    record_movement,
    set_shelf_position,
    set_shelf_positions,
    stock_by_location,
)
from .transfers import create_transfer, receive_transfer, transfer_payload

__all__ = [
    "MAX_SKUS", "availability", "check_digit", "make_ean13", "normalise_barcode",
    "find_variant_by_barcode", "find_variant_by_sku", "get_or_create_category", "get_product", "list_categories",
    "normalise_handle", "search_products", "slugify", "upsert_product",
    "FEED_COLUMNS", "availability_label", "iter_local_inventory_feed",
    "ImportNote", "ImportProblem", "ImportReport", "import_shopify_csv",
    "Barcode", "Category", "Location", "Product", "ProductImage", "Reservation", "ReservationLine", "ShelfPosition",
    "StockLevel", "StockMovement", "Transfer", "TransferLine", "Variant",
    "commit_reservation", "due_reservations", "expire_reservation", "get_reservation", "release_reservation",
    "reservation_payload", "reserve",
    "count_location", "get_location", "ledger_mismatches", "list_locations", "low_stock", "movements", "receive_opening_stock", "record_movement",
    "set_shelf_position", "set_shelf_positions", "stock_by_location",
    "create_transfer", "receive_transfer", "transfer_payload",
]
