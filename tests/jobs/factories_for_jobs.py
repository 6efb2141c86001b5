"""Committed data for tests that run a real worker process (no rolled-back transaction there)."""
from extensions import db
from models import Role
from services import auth as auth_service
from services import stores as store_service
from tenancy import tenant_scope


def seed_store_and_user(app, email: str) -> str:
    with app.app_context():
        store = store_service.create_store("jobs", "Jobs Store", is_default=True)
        db.session.commit()
        with tenant_scope(store):
            auth_service.create_user(username=email.split("@")[0], email=email, password="original-pass-1",
                                     role=Role.USER)
            db.session.commit()
        return store.id
