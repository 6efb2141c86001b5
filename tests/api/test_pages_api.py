"""CMS pages (issue 12, Seed A Pages): default pages of a new store, public reads of active pages,
Manager+ writes, Markdown rendered to sanitised HTML, slugs, and the shop's footer and nav."""
from __future__ import annotations

import pytest

from tests.api.conftest import error_code


def test_a_new_store_has_terms_privacy_and_refund_pages_in_its_footer(client, store):
    body = client.get("/api/pages").get_json()
    assert [p["slug"] for p in body["items"]] == ["terms", "privacy", "refund-policy"] and body["total"] == 3
    terms = client.get("/api/pages/terms").get_json()
    assert terms["title"] == "Terms of service" and "Main Store" in terms["body_html"] and terms["url"] == "/pages/terms"
    home = client.get("/").get_data(as_text=True)
    for slug in ("terms", "privacy", "refund-policy"):
        assert f'href="/pages/{slug}"' in home
        page = client.get(f"/pages/{slug}")
        assert page.status_code == 200, slug
    assert "<h1>Terms of service</h1>" in client.get("/pages/terms").get_data(as_text=True)


def test_markdown_becomes_safe_html(client, store, manager_headers):
    response = client.post("/api/pages", headers=manager_headers, json={
        "title": "About us", "body": "# About\n\nWe **sell** keys. [Discord](https://discord.gg/x)\n\n"
                                     "<script>alert(1)</script> [bad](javascript:alert(1))\n\n| a | b |\n|---|---|\n| 1 | 2 |"})
    assert response.status_code == 201, response.get_json()
    page = response.get_json()
    assert page["slug"] == "about-us" and page["is_active"] is True and page["show_in_footer"] is True
    html = page["body_html"]
    assert "<strong>sell</strong>" in html and 'href="https://discord.gg/x"' in html and "<table>" in html
    assert "<script" not in html and "&lt;script&gt;" in html and "href=\"javascript" not in html
    shown = client.get("/pages/about-us").get_data(as_text=True)
    assert "<strong>sell</strong>" in shown and "<script>alert" not in shown


def test_updates_drafts_and_deletes(client, store, manager_headers):
    created = client.post("/api/pages", headers=manager_headers, json={
        "title": "Shipping", "body": "Fast.", "show_in_nav": True, "show_in_footer": False}).get_json()
    assert 'href="/pages/shipping"' in client.get("/").get_data(as_text=True).split("</header>")[0]
    draft = client.put(f"/api/pages/{created['id']}", headers=manager_headers, json={"is_active": False, "body": "Slow."})
    assert draft.status_code == 200 and draft.get_json()["body_html"] == "<p>Slow.</p>\n"
    assert client.get("/api/pages/shipping").status_code == 404
    assert client.get("/pages/shipping").status_code == 404
    assert 'href="/pages/shipping"' not in client.get("/").get_data(as_text=True)
    assert client.get("/api/pages/shipping", headers=manager_headers).get_json()["is_active"] is False
    listed = client.get("/api/pages", query_string={"include_inactive": "true"}, headers=manager_headers).get_json()
    assert "shipping" in [p["slug"] for p in listed["items"]]
    assert "shipping" not in [p["slug"] for p in client.get("/api/pages?include_inactive=true").get_json()["items"]]
    assert client.delete(f"/api/pages/{created['id']}", headers=manager_headers).status_code == 204
    assert client.put(f"/api/pages/{created['id']}", headers=manager_headers, json={"title": "x"}).status_code == 404


def test_bad_input_and_slug_clashes(client, store, manager_headers, staff_headers):
    assert client.post("/api/pages", headers=manager_headers, json={"title": ""}).status_code == 422
    clash = client.post("/api/pages", headers=manager_headers, json={"title": "Terms again", "slug": "terms"})
    assert clash.status_code == 409 and error_code(clash) == "slug_taken"
    second = client.post("/api/pages", headers=manager_headers, json={"title": "Terms"}).get_json()
    assert second["slug"] == "terms-2"  # a free slug is made from the title
    assert client.post("/api/pages", headers=staff_headers, json={"title": "Nope"}).status_code == 403
    assert error_code(client.get("/api/pages/nope")) == "page_not_found"


@pytest.mark.usefixtures("store")
def test_pages_belong_to_their_store(client, other_store, manager_headers):
    client.post("/api/pages", headers=manager_headers, json={"title": "Main only"})
    other = client.get("/api/pages", headers={"Host": "other.example.com"}).get_json()
    assert "main-only" not in [p["slug"] for p in other["items"]] and other["total"] == 3
    assert client.get("/pages/main-only", headers={"Host": "other.example.com"}).status_code == 404


def test_a_title_another_page_of_the_store_has_is_refused_whatever_its_case_and_spaces(
        client, store, other_store, make, manager_headers):
    """The footer links pages by title: two "Terms of service" links would not say which is which."""
    twin = client.post("/api/pages", headers=manager_headers, json={"title": "  terms OF service ", "slug": "terms-2"})
    assert twin.status_code == 409 and error_code(twin) == "title_taken"
    assert twin.get_json()["error"] == {
        "code": "title_taken", "details": {"title": ["taken"]},
        "message": "Another page is already called “Terms of service”: give this one a different title"}
    about = client.post("/api/pages", headers=manager_headers, json={"title": "About us"}).get_json()
    renamed = client.put(f"/api/pages/{about['id']}", headers=manager_headers, json={"title": "PRIVACY policy"})
    assert renamed.status_code == 409 and error_code(renamed) == "title_taken"
    # a page keeps its own title, or changes only its case; its slug stays as it was
    for title in ("About us", "About Us"):
        kept = client.put(f"/api/pages/{about['id']}", headers=manager_headers, json={"title": title, "body": "Hi"})
        assert kept.status_code == 200 and kept.get_json()["title"] == title and kept.get_json()["slug"] == "about-us"
    titles = sorted(p["title"] for p in client.get("/api/pages").get_json()["items"])
    assert titles == ["About Us", "Privacy policy", "Refund policy", "Terms of service"]
    footer = client.get("/").get_data(as_text=True).split("<footer", 1)[1]
    assert footer.count(">Terms of service<") == 1 and footer.count(">Privacy policy<") == 1
    # another store's pages are not this store's: it may use the same title
    theirs = client.post("/api/pages", headers=make.headers(make.user(other_store, role="MANAGER"), other_store),
                         json={"title": "About us"}, base_url="http://other.example.com")
    assert theirs.status_code == 201, theirs.get_json()


def test_a_stale_token_reads_public_pages_as_no_token_would(client, store, make, manager_headers):
    """RECONCILE.md: `-` is "anyone, with or without a token": an expired token is no token (as on
    /api/products), while an endpoint that takes the token still refuses it."""
    manager = make.user(store, role="MANAGER")
    client.post("/api/pages", headers=manager_headers, json={"title": "Draft", "is_active": False})
    expired = make.expired_headers(manager, store)
    listed = client.get("/api/pages", query_string={"include_inactive": "true"}, headers=expired)
    assert listed.status_code == 200 and [p["slug"] for p in listed.get_json()["items"]] == [
        "terms", "privacy", "refund-policy"]  # no drafts: the expired manager is nobody here
    assert client.get("/api/pages/terms", headers=expired).status_code == 200
    assert client.get("/api/pages/draft", headers=expired).status_code == 404
    assert client.get("/api/products", headers=expired).status_code == 200
    for path in ("/api/auth/me", "/api/cart"):  # a signed-in user's, or "Optional": still 401
        refused = client.get(path, headers=expired)
        assert refused.status_code == 401 and error_code(refused) == "token_expired", path
    assert client.get("/api/pages/draft", headers=manager_headers).status_code == 200
