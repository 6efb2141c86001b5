"""Pages refuse control characters where they come in (issue 8, B): next to the form field,
as a 400 for a query string, as a 404 for a path; nothing is written."""
from __future__ import annotations

from sqlalchemy import select

from extensions import db
from models import User
from tenancy import tenant_scope
from tests.web.test_auth_pages import csrf


def test_a_form_field_with_a_nul_is_refused_next_to_it(app, client, store):
    page = client.get("/register")
    response = client.post("/register", data={"csrf_token": csrf(page.data), "username": "nul\x00user",
                                              "email": "nul@example.com", "password": "a-good-password",
                                              "confirm": "a-good-password"})
    html = response.data.decode()
    assert response.status_code == 422 and html.count("control character") == 1
    with app.app_context(), tenant_scope(store):
        assert db.session.scalar(select(User).where(User.email == "nul@example.com")) is None


def test_a_query_string_or_path_with_a_nul_gets_a_page_not_a_500(client, store):
    assert client.get("/search?q=%00").status_code == 400
    assert client.get("/c/gift%00cards").status_code == 404
    assert client.get("/search?q=ok").status_code == 200
