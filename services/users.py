"""Users of a store as the dashboard sees them: the searchable list, suggestions, who is who."""
from __future__ import annotations

from sqlalchemy import func, or_, select

from extensions import db
from models import Order, User

from .errors import NotFound
from .pagination import paginate

ADMIN_PAGE_SIZE = 25


def users_by_id(user_ids) -> dict[str, User]:
    """The users behind a set of ids (buyers, actors) in one query."""
    ids = {i for i in user_ids if i}
    return {u.id: u for u in db.session.scalars(select(User).where(User.id.in_(ids)))} if ids else {}


def usernames(user_ids) -> dict[str, str]:
    """Usernames by id (who placed, imported or changed something), in one query."""
    return {user_id: user.username for user_id, user in users_by_id(user_ids).items()}


def admin_users(*, q: str = "", page: int = 1) -> dict:
    """The dashboard's user list: username/email search, newest first."""
    stmt = select(User)
    term = (q or "").strip().lower()[:100]
    if term:
        like = f"%{term.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(or_(func.lower(User.username).like(like), func.lower(User.email).like(like)))
    return paginate(stmt.order_by(User.created_at.desc(), User.id), page=page, page_size=ADMIN_PAGE_SIZE)


def find_users(q: str, *, limit: int = 8) -> list[User]:
    """Suggestions for a "pick a user" box: username or email starting with / containing ``q``."""
    term = (q or "").strip().lower()[:100].replace("%", "").replace("_", "")
    if len(term) < 1:
        return []
    like = f"%{term}%"
    return list(db.session.scalars(
        select(User).where(or_(func.lower(User.username).like(like), func.lower(User.email).like(like)))
        .order_by(func.lower(User.username)).limit(limit)))


def user_by_login(identifier: str) -> User | None:
    """A user of the bound store by exact username (any case) or email."""
    identifier = (identifier or "").strip()
    if not identifier:
        return None
    if "@" in identifier:
        return db.session.scalar(select(User).where(func.lower(User.email) == identifier.lower()))
    return db.session.scalar(select(User).where(func.lower(User.username) == identifier.lower()))


def total_spent(user_id: str) -> int:
    """What a user has paid for orders (paid or partly refunded), minor units."""
    return int(db.session.scalar(select(func.coalesce(func.sum(Order.total), 0)).where(
        Order.buyer_id == user_id, Order.payment_status.in_(("PAID", "PARTIALLY_REFUNDED")))) or 0)


def get_user(user_id: str | None) -> User:
    """A user of the bound store by id (404 ``user_not_found`` otherwise)."""
    user = db.session.get(User, user_id) if user_id and len(user_id) <= 36 else None
    if user is None:
        raise NotFound("No such user", code="user_not_found")
    return user


def role_counts() -> dict[str, int]:
    """How many users the store has per role (the dashboard's overview)."""
    return dict(db.session.execute(select(User.role, func.count()).group_by(User.role)).all())
