"""The admin pages editor (issue 12, CMS pages): list, create with the Markdown preview, edit,
refusals next to their field, delete; the shop's footer follows."""
from __future__ import annotations

import re

import pytest

from tests.web.test_admin_orders_pages import HX, as_role, page_token
from tests.web.test_admin_payments_pages import text


@pytest.fixture
def manager(app, make, store):
    client, _ = as_role(app, make, store, "MANAGER")
    return client


def form(page, **changes) -> dict:
    data = {"csrf_token": page_token(page), "title": "About us", "slug": "", "body": "We **sell** keys.",
            "meta_description": "", "is_active": "y", "show_in_footer": "y", "sort_order": "10"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_staff_cannot_edit_pages(app, make, store):
    client, _ = as_role(app, make, store, "STAFF")
    assert client.get("/admin/pages").status_code == 403


def test_the_list_shows_the_default_pages(manager, store):
    page = manager.get("/admin/pages")
    assert page.status_code == 200
    body = text(page)
    assert "Terms of service" in body and "Privacy policy" in body and "Refund policy" in body and "Published" in body
    assert 'href="/admin/pages"' in page.get_data(as_text=True)


def test_create_edit_and_delete_a_page(manager, client, store):
    new = manager.get("/admin/pages/new")
    created = manager.post("/admin/pages/new", data=form(new))
    assert created.status_code == 303
    edit_url = created.headers["Location"]
    assert "is saved. It lives at /pages/about-us" in text(manager.get(edit_url))
    assert 'href="/pages/about-us"' in client.get("/").get_data(as_text=True)
    page = manager.get(edit_url)
    assert "<strong>sell</strong>" in page.get_data(as_text=True)  # the preview of the saved text
    saved = manager.post(edit_url, data=form(page, title="About", body="Now *different*", show_in_footer=None))
    assert saved.status_code == 303
    assert 'href="/pages/about-us"' not in client.get("/").get_data(as_text=True)
    assert "<em>different</em>" in client.get("/pages/about-us").get_data(as_text=True)
    page_id = edit_url.rstrip("/").rsplit("/", 1)[1]
    deleted = manager.post(f"/admin/pages/{page_id}/delete", data={"csrf_token": page_token(page)})
    assert deleted.status_code == 303 and client.get("/pages/about-us").status_code == 404


def test_refusals_show_next_to_their_field_and_save_nothing(manager, client, store):
    new = manager.get("/admin/pages/new")
    taken = manager.post("/admin/pages/new", data=form(new, title="Copy", slug="terms"))
    assert taken.status_code == 409 and "already used" in text(taken)
    slug_input = re.search(r'<input[^>]*id="slug"[^>]*>', taken.get_data(as_text=True)).group(0)
    assert 'aria-invalid="true"' in slug_input
    empty = manager.post("/admin/pages/new", data=form(new, title=""))
    assert empty.status_code == 422 and "This field is required" in text(empty)
    assert "Copy" not in text(manager.get("/admin/pages"))


def test_the_preview_renders_markdown_safely(manager, store):
    new = manager.get("/admin/pages/new")
    preview = manager.post("/admin/pages/preview", data={"csrf_token": page_token(new), "body": "# Hi\n<img src=x onerror=alert(1)>"},
                           headers=HX)
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200 and "<h1>Hi</h1>" in html and "<img" not in html


def test_a_title_another_page_has_is_refused_next_to_the_title_field(manager, client, store):
    new = manager.get("/admin/pages/new")
    twin = manager.post("/admin/pages/new", data=form(new, title="  privacy POLICY "))
    assert twin.status_code == 409
    html = twin.get_data(as_text=True)
    said = re.search(r'id="title-err">([^<]*)<', html)
    assert said and said.group(1) == "Another page is already called “Privacy policy”: give this one a different title"
    assert 'aria-invalid="true"' in re.search(r'<input[^>]*id="title"[^>]*>', html).group(0)
    assert 'value="  privacy POLICY "' in html or 'value="privacy POLICY"' in html  # what was typed stays
    footer = client.get("/").get_data(as_text=True).split("<footer", 1)[1]
    assert footer.count(">Privacy policy<") == 1
    # renaming a page to another's title is refused the same way; keeping its own title is not
    created = manager.post("/admin/pages/new", data=form(new, title="About us"))
    edit_url = created.headers["Location"]
    page = manager.get(edit_url)
    renamed = manager.post(edit_url, data=form(page, title="Terms of Service"))
    assert renamed.status_code == 409 and "Another page is already called “Terms of service”" in text(renamed)
    assert manager.post(edit_url, data=form(page, title="About us", body="New text")).status_code == 303
    titles = re.findall(r'<td><a href="/admin/pages/[^"]+">([^<]*)</a></td>', manager.get("/admin/pages").get_data(as_text=True))
    assert sorted(titles) == ["About us", "Privacy policy", "Refund policy", "Terms of service"]
