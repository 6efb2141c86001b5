"""Public store configuration, health and the OpenAPI document."""


def test_public_config_has_defaults_and_only_enabled_methods(client, store):
    body = client.get("/api/public/config").get_json()
    assert body["store_name"] == "Main Store" and body["currency"] == "EUR"
    assert [m["name"] for m in body["payment_methods"]] == ["BALANCE", "MANUAL"]
    assert body["review_reward"] == 0 and body["announcement_bar_config"]["enabled"] is False
    assert body["branding"]["primary_color"].startswith("#")


def test_health_reports_the_database(client, app):
    body = client.get("/api/health").get_json()
    assert body["database"]["status"] == "ok"
    assert body["database"]["backend"] in ("sqlite", "postgresql")
    assert body["redis"]["status"] == "not_configured"


def test_openapi_document_describes_the_api_with_bearer_security(client, store):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"].startswith("3.")
    assert "/api/auth/login" in spec["paths"]
    me = spec["paths"]["/api/auth/me"]["get"]
    assert me["security"] == [{"BearerAuth": []}]
    assert spec["components"]["securitySchemes"]["BearerAuth"]["scheme"] == "bearer"
    docs = client.get("/api/docs")
    assert docs.status_code == 200 and b"swagger-ui" in docs.data
    assert b"cdn.jsdelivr" not in docs.data
