"""The customer's own account settings (the pages' side; auth.py keeps sign-in and passwords)."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import User

from .auth import check_blacklist, email_taken, normalize_email, verify_password
from .errors import Invalid


def change_email(user: User, new_email: str, password: str) -> User:
    """Change the sign-in email: the current password is required; the address is normalised
    and must be free in the user's store."""
    if not verify_password(user, password or ""):
        raise Invalid("The current password is wrong", code="wrong_password", details={"password": ["wrong password"]})
    email = normalize_email(new_email)
    if email == user.email:
        return user
    check_blacklist(email=email)
    clash = db.session.scalar(select(User.id).where(func.lower(User.email) == email, User.id != user.id))
    if clash is not None:
        raise email_taken()
    user.email = email
    db.session.flush()
    return user
