"""Addresses under concurrency (a live server, every request committed): many requests making
different addresses the default shipping (and billing) address at once all succeed, one after the
other, and leave exactly one default of each kind."""
from __future__ import annotations

from sqlalchemy import func, select

from extensions import db
from models import Address, Role
from services import addresses as address_service
from services import auth as auth_service
from tenancy import tenant_scope

from .conftest import call, race

N = 6


def test_concurrent_make_default_requests_leave_one_default_of_each_kind(live):
    base, app, store_id = live
    with app.app_context(), tenant_scope(store_id):
        user = auth_service.create_user(username="mover", email="mover@example.com", password="race-pass-123",
                                        role=Role.USER, check_strength=False)
        ids = [address_service.create_address(user, {"name": f"N{i}", "line1": f"Rua {i}", "city": "Lisboa",
                                                     "postal_code": "1200-195", "country": "PT"}).id
               for i in range(N)]
        token = auth_service.issue_tokens(user)["access_token"]
        user_id = user.id
        db.session.commit()

    for _ in range(3):
        results = race(N, lambda i: call(base, "PUT", f"/api/addresses/{ids[i]}", token=token,
                                         body={"is_default_shipping": True, "is_default_billing": True if i % 2 == 0 else None}))
        assert not [r for r in results if isinstance(r, Exception)], results
        assert [status for status, _ in results] == [200] * N, results
        with app.app_context(), tenant_scope(store_id):
            for flag in (Address.is_default_shipping, Address.is_default_billing):
                assert db.session.scalar(select(func.count()).select_from(Address).where(
                    Address.user_id == user_id, flag.is_(True))) == 1
