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


def test_every_operation_documents_its_errors_with_the_envelope(client, store):
    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    envelope = schemas["HTTPError"]
    assert envelope["required"] == ["error"] and envelope["properties"]["error"]["required"] == ["code", "message",
                                                                                                "details"]
    assert schemas["ValidationError"] == envelope
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "400" in responses, (method, path)
            if operation.get("security"):
                assert "401" in responses, (method, path)
            if method in ("post", "put", "delete"):
                assert {"409", "415"} <= set(responses), (method, path)
            for status, response in responses.items():
                if status[0] in "45" and path not in ("/api/health", "/api/health/ready"):  # a 503 is the report
                    ref = response["content"]["application/json"]["schema"]["$ref"]
                    assert schemas[ref.rsplit("/", 1)[1]] == envelope, (method, path, status)
    paths = spec["paths"]
    assert "403" in paths["/api/orders"]["get"]["responses"]  # staff
    assert "403" not in paths["/api/auth/me"]["get"]["responses"]  # any signed-in user
    assert "404" in paths["/api/products/{key}"]["get"]["responses"] and "503" in paths["/api/tags"]["get"]["responses"]
    limited = {p for p, ops in paths.items() for op in ops.values() if "429" in op["responses"]}
    assert limited == {"/api/auth/login", "/api/auth/register", "/api/auth/forgot-password",
                       "/api/auth/reset-password"}
    health = paths["/api/health"]["get"]["responses"]
    assert health["503"]["content"] == health["200"]["content"]  # the same report, not the envelope
    ready = paths["/api/health/ready"]["get"]["responses"]
    assert ready["503"]["content"] == ready["200"]["content"]


def test_every_reference_in_the_openapi_document_resolves(client, store):
    """A code generator or validator follows every ``$ref``; two models of one name would be
    renamed ``Name1`` by APIFlask with their nested references left pointing at the other one."""
    import re

    spec = client.get("/api/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    refs: list[str] = []

    def walk(node):
        if isinstance(node, dict):
            if isinstance(node.get("$ref"), str):
                refs.append(node["$ref"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(spec)
    assert refs
    missing = sorted({ref for ref in refs if ref.rsplit("/", 1)[-1] not in schemas})
    assert missing == []
    assert [name for name in schemas if re.search(r"\D\d$", name.split(".")[0])] == []
