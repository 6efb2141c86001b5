"""Demo catalog for ``flask --app app seed-demo``: categories, products with images,
subcategories and a few hundred stock items, so a fresh install looks like a real shop."""
from __future__ import annotations

import io
import secrets

from PIL import Image, ImageDraw, ImageFont
from sqlalchemy import func, select

from extensions import db
from models import Product

from . import balance, shipping, stock
from . import categories as category_service
from . import images as image_service
from . import products as product_service
from . import variants as variant_service

CATEGORIES = [
    ("Gift Cards", "#F59E0B", "Store credit for the big platforms, delivered as a code."),
    ("Game Keys", "#6366F1", "Activation keys for PC games."),
    ("Software", "#10B981", "Licences for tools people use every day."),
    ("Streaming", "#EF4444", "Subscriptions and accounts for music and video."),
    ("Merch", "#0EA5E9", "Things that arrive by post."),
]

# title, category, featured, kind, [(variant title, price in cents, stock to import)], description
PRODUCTS = [
    ("Steam Wallet Card", "Gift Cards", True, "digital", [("$10", 1099, 60), ("$25", 2649, 40), ("$50", 5199, 20)],
     "<p>Top up any Steam account. Redeem under <strong>Account → Add funds</strong>.</p>"),
    ("PlayStation Store Card", "Gift Cards", True, "digital", [("€20", 2000, 30), ("€50", 4999, 12)],
     "<p>Credit for the PlayStation Store: games, add-ons and subscriptions.</p>"),
    ("Amazon Gift Card", "Gift Cards", False, "digital", [("€25", 2500, 25), ("€100", 10000, 4)],
     "<p>Spend it on millions of items. Valid for 10 years.</p>"),
    ("Starfall Odyssey (PC)", "Game Keys", True, "digital", [("Standard", 3999, 15), ("Deluxe", 5999, 3)],
     "<p>The open-world space RPG. Global key, activates on Steam.</p>"),
    ("Pixel Racers (PC)", "Game Keys", False, "digital", [("Standard", 1499, 0)],
     "<p>Retro arcade racing with friends. Back in stock soon.</p>"),
    ("Office Suite 2026", "Software", True, "digital", [("1 device", 4999, 20), ("5 devices", 9999, 8)],
     "<p>Documents, sheets and slides. Lifetime licence.</p>"),
    ("SecureVPN", "Software", False, "digital", [("1 month", 699, 30), ("12 months", 4999, 10)],
     "<p>Fast, private browsing on every device.</p>"),
    ("MusicFlow Premium", "Streaming", True, "digital", [("1 month", 999, 25), ("6 months", 5499, 6)],
     "<p>Ad-free music, offline listening.</p>"),
    ("CineMax Account", "Streaming", False, "digital", [("Standard", 1299, 10)],
     "<p>Films and series in HD on two screens.</p>"),
    ("Logo Hoodie", "Merch", False, "physical", [("M", 3900, 12), ("L", 3900, 9), ("XL", 3900, 0)],
     "<p>Heavy cotton hoodie with the store logo. Ships in 2 days.</p>"),
]


def _image(title: str, colour: str) -> bytes:
    """A simple branded picture: a diagonal gradient with the product's initials."""
    width, height = 640, 480
    base = tuple(int(colour[i:i + 2], 16) for i in (1, 3, 5))
    img = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(img)
    for y in range(height):
        t = y / height
        draw.line([(0, y), (width, y)], fill=tuple(int(c * (1 - 0.45 * t) + 255 * 0.12 * t) for c in base))
    initials = "".join(word[0] for word in title.split()[:2]).upper()
    try:
        font = ImageFont.load_default(size=180)
    except TypeError:  # very old Pillow
        font = ImageFont.load_default()
    box = draw.textbbox((0, 0), initials, font=font)
    draw.text(((width - (box[2] - box[0])) / 2 - box[0], (height - (box[3] - box[1])) / 2 - box[1]),
              initials, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _code(prefix: str) -> str:
    return f"{prefix}-" + "-".join(secrets.token_hex(2).upper() for _ in range(4))


DEMO_BALANCE = 100_00  # a new demo shopper's store balance, in minor units


def credit_demo_shopper(user_id: str) -> None:
    """A new demo shopper starts with 100.00 of store balance (a gift on the ledger), so the first
    try of a checkout by balance goes through instead of answering insufficient_balance."""
    balance.credit(user_id, DEMO_BALANCE, "gift", reason="Demo balance: try a checkout by balance")


def seed_catalog() -> int:
    """Create the demo catalog in the bound store unless it already has products. Returns items imported."""
    if db.session.scalar(select(func.count()).select_from(Product)):
        return 0
    categories = {}
    for i, (title, colour, description) in enumerate(CATEGORIES):
        categories[title] = category_service.create_category(title=title, hex_code=colour, description=description, sort_order=i)
    imported = 0
    for title, category, featured, kind, variants, description in PRODUCTS:
        product = product_service.create_product({
            "title": title, "description": description, "category_id": categories[category].id,
            "is_featured": featured, "kind": kind,
            "replacement_settings": {"replace_enabled": kind == "digital", "auto_replace_enabled": featured,
                                     "warranty_time": 7 * 86400},
        })
        picture = _image(title, CATEGORIES[[c[0] for c in CATEGORIES].index(category)][1])
        image_service.add_image(product, image_service.prepare_image(product, picture))
        prefix = "".join(w[0] for w in title.split()[:3]).upper()
        for v_title, price, count in variants:
            data = {"title": v_title, "price": price, "min_quantity": 1, "max_quantity": 10}
            if kind == "physical":
                data["stock_count"] = count
            variant = variant_service.create_variant(product, data)
            if kind == "digital" and count:
                result = stock.import_stock(variant, "\n".join(_code(prefix) for _ in range(count)),
                                            note="Demo stock", supplier="Demo supplier")
                imported += result.added
    # the hoodie ships: one zone for everywhere, so a demo shopper can check it out
    world = shipping.create_zone({"name": "Everywhere", "rest_of_world": True})
    shipping.add_method(world, {"name": "Standard post", "kind": "flat", "price": 490, "min_days": 3, "max_days": 7,
                                "free_threshold": 7500})
    shipping.add_method(world, {"name": "Express", "kind": "flat", "price": 1290, "min_days": 1, "max_days": 2,
                                "position": 1})
    return imported
