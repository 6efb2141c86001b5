"""All models, imported so that metadata and Alembic see every table."""
from .address import Address
from .audit import AUDITED, NOT_AUDITED, AuditEntry, AuditSpec
from .auth import PasswordResetToken, RevokedToken
from .balance import BALANCE_KINDS, BalanceTopUp, BalanceTransaction
from .base import Base, TenantScoped
from .campaign import (
    AUDIENCES,
    CAMPAIGN_STATUSES,
    RECIPIENT_STATUSES,
    TOPICS,
    Campaign,
    CampaignRecipient,
    NotificationPreference,
)
from .cart import Cart, CartItem
from .catalog import (
    PRODUCT_KINDS,
    Attribute,
    AttributeValue,
    Category,
    Product,
    ProductImage,
    ProductTag,
    SlugRedirect,
    Tag,
    Variant,
    VariantAttributeValue,
)
from .coupon import Coupon, CouponRedemption
from .migration import IMPORT_SOURCES, IMPORT_STATUSES, ExternalRef, ImportJob
from .moloni import MoloniConnection, MoloniInvoice
from .order import (
    ORDER_STATUSES,
    PAYMENT_METHODS,
    PAYMENT_STATUSES,
    Counter,
    Order,
    OrderAdjustment,
    OrderEvent,
    OrderLine,
)
from .page import Page
from .payment import PAYMENT_ATTEMPT_STATUSES, PROVIDERS, Payment, PaymentAccount, Refund, WebhookEvent
from .plan import DEFAULT_PLAN_SLUG, FEATURES, Addon, Plan, store_addons
from .replacement import REPLACEMENT_STATUSES, ReplacementRequest
from .review import Review
from .shipping import SHIPPING_KINDS, ShippingMethod, ShippingZone, TaxRule
from .stock import StockBatch, StockItem
from .store import Store
from .user import BLACKLIST_KINDS, Blacklist, Role, User
from .wishlist import WishlistItem, WishlistShare

__all__ = [
    "Base", "TenantScoped", "Store", "User", "Role", "Blacklist", "BLACKLIST_KINDS", "RevokedToken", "PasswordResetToken",
    "Category", "Product", "ProductImage", "Variant", "Tag", "ProductTag", "SlugRedirect", "Attribute", "AttributeValue",
    "VariantAttributeValue", "PRODUCT_KINDS", "StockBatch", "StockItem", "Counter", "Cart", "CartItem", "Coupon",
    "CouponRedemption", "Order", "OrderLine", "OrderAdjustment", "OrderEvent", "BalanceTransaction",
    "Review", "BalanceTopUp", "ORDER_STATUSES", "PAYMENT_STATUSES", "PAYMENT_METHODS", "BALANCE_KINDS",
    "ReplacementRequest", "REPLACEMENT_STATUSES", "Payment", "PaymentAccount", "Refund", "WebhookEvent", "PROVIDERS", "PAYMENT_ATTEMPT_STATUSES",
    "Page", "MoloniConnection", "MoloniInvoice",
    "Campaign", "CampaignRecipient", "NotificationPreference", "CAMPAIGN_STATUSES", "RECIPIENT_STATUSES", "AUDIENCES",
    "TOPICS",
    "AuditEntry", "AuditSpec", "AUDITED", "NOT_AUDITED",
    "Plan", "Addon", "store_addons", "FEATURES", "DEFAULT_PLAN_SLUG",
    "WishlistItem", "WishlistShare",
    "ShippingZone", "ShippingMethod", "TaxRule", "SHIPPING_KINDS",
    "Address",
    "ImportJob", "ExternalRef", "IMPORT_SOURCES", "IMPORT_STATUSES",
]
