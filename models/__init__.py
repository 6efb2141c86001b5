"""All models, imported so that metadata and Alembic see every table."""
from .auth import PasswordResetToken, RevokedToken
from .base import Base, TenantScoped
from .store import Store
from .user import Blacklist, Role, User

__all__ = ["Base", "TenantScoped", "Store", "User", "Role", "Blacklist", "RevokedToken", "PasswordResetToken"]
