"""The shop: pages, cart, checkout and the customer's account pages."""
from flask import Blueprint

bp = Blueprint("storefront", __name__)

from . import account, auth, cart, catalog, orders, pages, reviews, unsubscribe, uploads, wishlist  # noqa: E402,F401
