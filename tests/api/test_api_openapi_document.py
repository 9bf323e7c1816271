"""/api/v1/openapi.json as an integrator uses it: it validates, a client generator finds every
model, enum, parameter and header it needs in it, and the API answers only what it lists."""

from __future__ import annotations

import pytest
from api_helpers import bearer
from openapi_spec_validator import OpenAPIV31SpecValidator

from shared.incidents.lifecycle import Status
from shared.incidents.models import ENVIRONMENTS, Priority

DOCUMENT = "/api/v1/openapi.json"
PROBLEM = "application/problem+json"
METHODS = ("get", "put", "post", "patch", "delete")
STATUSES = [s.value for s in Status]
PRIORITIES = [p.value for p in Priority]


@pytest.fixture
def document(client) -> dict:
    return client.get(DOCUMENT).get_json()


def _operations(document: dict):
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def _dicts(node):
    """Every object in the document, depth first."""
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _dicts(value)
    elif isinstance(node, list):
        for value in node:
            yield from _dicts(value)


def _refs(node) -> set[str]:
    return {d["$ref"] for d in _dicts(node) if isinstance(d.get("$ref"), str)}


def _resolve(document: dict, node: dict) -> dict:
    while "$ref" in node:
        *_, section, name = node["$ref"].split("/")
        node = document["components"][section][name]
    return node


def _if_match(operation: dict) -> list[dict]:
    return [p for p in operation.get("parameters", []) if p["in"] == "header" and p["name"].lower() == "if-match"]


def test_document_validates_as_openapi_3_1(document):
    errors = [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in OpenAPIV31SpecValidator(document).iter_errors()
    ]
    assert errors == []


def test_incident_list_documents_json_pages_and_the_csv_export(document):
    ok = document["paths"]["/api/v1/incidents"]["get"]["responses"]["200"]
    assert ok["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/IncidentPage"}
    assert ok["content"]["text/csv"]["schema"]["type"] == "string"
    assert {"Link", "Content-Disposition"} <= set(ok["headers"])


def test_every_model_in_the_document_is_used_by_an_operation(document):
    schemas = document["components"]["schemas"]
    used = {ref.rsplit("/", 1)[1] for ref in _refs(document["paths"]) | _refs(document["components"]["responses"])}
    pending = list(used)
    while pending:  # models used by used models
        for ref in _refs(schemas.get(pending.pop(), {})):
            name = ref.rsplit("/", 1)[1]
            if name not in used:
                used.add(name)
                pending.append(name)
    assert set(schemas) - used == set()


def test_every_documented_default_is_one_of_its_allowed_values(document):
    # A generated client sends the default: `sort` defaulted to "" outside its enum.
    wrong = [d for d in _dicts(document) if "enum" in d and "default" in d and d["default"] not in d["enum"]]
    assert wrong == []
    sort = next(p for p in document["paths"]["/api/v1/incidents"]["get"]["parameters"] if p["name"] == "sort")
    assert sort["schema"]["enum"] == ["priority", "recent", "oldest", "due"]


# (method, path, If-Match required?, success status): every write that honours If-Match.
CONDITIONAL_WRITES = [
    ("patch", "/api/v1/incidents/{key}", True, "200"),
    ("post", "/api/v1/incidents/{key}/transition", False, "200"),
    ("post", "/api/v1/incidents/{key}/assign", False, "200"),
    ("post", "/api/v1/incidents/{key}/priority", False, "200"),
    ("patch", "/api/v1/incidents/{key}/follow-ups/{follow_up_id}", False, "200"),
    ("delete", "/api/v1/incidents/{key}/follow-ups/{follow_up_id}", False, None),  # 204: nothing left to tag
    ("patch", "/api/v1/webhooks/{endpoint_id}", False, "200"),
    ("post", "/api/v1/webhooks/{endpoint_id}/rotate-secret", False, "200"),
]


@pytest.mark.parametrize(("method", "path", "required", "success"), CONDITIONAL_WRITES)
def test_conditional_writes_document_if_match_its_refusals_and_the_new_etag(document, method, path, required, success):
    operation = document["paths"][path][method]
    [if_match] = _if_match(operation)
    assert if_match["required"] is required
    assert "412" in operation["responses"]
    assert ("428" in operation["responses"]) is required  # only where If-Match is required
    if success is not None:
        assert "ETag" in operation["responses"][success]["headers"]


def test_only_the_writes_that_honour_if_match_document_it(document):
    documented = {(method, path) for method, path, operation in _operations(document) if _if_match(operation)}
    assert documented == {(method, path) for method, path, *_ in CONDITIONAL_WRITES}


@pytest.mark.parametrize(
    ("method", "path", "status", "headers"),
    [
        ("get", "/api/v1/incidents/{key}", "200", {"ETag"}),
        ("post", "/api/v1/incidents", "201", {"ETag", "Location"}),
        ("get", "/api/v1/webhooks/{endpoint_id}", "200", {"ETag"}),
        ("post", "/api/v1/webhooks", "201", {"ETag"}),
    ],
)
def test_reads_and_creates_document_the_headers_they_send(document, method, path, status, headers):
    assert headers <= set(document["paths"][path][method]["responses"][status].get("headers", {}))


def test_filing_documents_its_idempotency_key_and_the_replay_header(document):
    operation = document["paths"]["/api/v1/incidents"]["post"]
    [key] = [p for p in operation["parameters"] if p["in"] == "header" and p["name"] == "Idempotency-Key"]
    assert key["required"] is False
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]


@pytest.mark.parametrize(
    ("schema", "field", "values"),
    [
        ("IncidentOut", "status", STATUSES),
        ("IncidentOut", "priority", PRIORITIES),
        ("IncidentOut", "environment", list(ENVIRONMENTS)),
        ("IncidentCreate", "priority", PRIORITIES),
        ("IncidentCreate", "environment", list(ENVIRONMENTS)),
        ("IncidentPatch", "environment", list(ENVIRONMENTS)),
        ("TransitionIn", "to", STATUSES),
        ("PriorityIn", "priority", PRIORITIES),
    ],
)
def test_fixed_vocabularies_are_enums_in_requests_and_responses(document, schema, field, values):
    assert document["components"]["schemas"][schema]["properties"][field]["enum"] == values


def test_every_operation_has_a_unique_id_a_summary_a_declared_tag_and_bearer_auth(document):
    operations = list(_operations(document))
    ids = [operation.get("operationId") for *_, operation in operations]
    assert None not in ids
    assert len(ids) == len(set(ids))
    assert [(m, p) for m, p, operation in operations if not operation.get("summary")] == []
    declared = {tag["name"] for tag in document["tags"]}
    assert [
        (m, p) for m, p, operation in operations if not operation.get("tags") or set(operation["tags"]) - declared
    ] == []
    bearer_auth = document["components"]["securitySchemes"]["bearerAuth"]
    assert (bearer_auth["type"], bearer_auth["scheme"]) == ("http", "bearer")
    applied = {
        (m, p): [name for requirement in operation.get("security", document["security"]) for name in requirement]
        for m, p, operation in operations
    }
    assert {where: names for where, names in applied.items() if names != ["bearerAuth"]} == {}


def test_every_error_response_is_a_problem_document(document):
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if status == "default" or status >= "400":
                content = _resolve(document, response)["content"]
                assert set(content) == {PROBLEM}, (method, path, status)
                assert content[PROBLEM]["schema"] == {"$ref": "#/components/schemas/Problem"}, (method, path, status)


def test_item_paths_document_404_and_json_writes_document_415_and_422(document):
    for method, path, operation in _operations(document):
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            assert {"415", "422"} <= set(operation["responses"]), (method, path)


def test_the_api_answers_with_statuses_media_types_and_headers_the_document_lists(
    client, document, make_incident, make_token
):
    lead = bearer(make_token("lead", "write"))
    key = make_incident().key
    item = f"/api/v1/incidents/{key}"
    etag = client.get(item, headers=lead).headers["ETag"]
    rename = {"json": {"title": "Renamed"}}
    calls = [
        # (method, template, url, extra request arguments, expected status)
        ("get", "/api/v1/incidents", "/api/v1/incidents", {}, 200),
        ("get", "/api/v1/incidents", "/api/v1/incidents?format=csv", {}, 200),
        ("get", "/api/v1/incidents/{key}", item, {}, 200),
        ("get", "/api/v1/incidents/{key}", "/api/v1/incidents/INC-999999", {}, 404),
        ("patch", "/api/v1/incidents/{key}", item, rename, 428),
        ("patch", "/api/v1/incidents/{key}", item, {**rename, "headers": {"If-Match": '"v999"'}}, 412),
        ("patch", "/api/v1/incidents/{key}", item, {**rename, "headers": {"If-Match": etag}}, 200),
        (
            "post",
            "/api/v1/incidents/{key}/transition",
            f"{item}/transition",
            {"json": {"to": "in_progress"}, "headers": {"If-Match": etag}},  # stale: the PATCH moved it on
            412,
        ),
        ("post", "/api/v1/incidents/{key}/priority", f"{item}/priority", {"json": {"priority": "P1"}}, 200),
        ("post", "/api/v1/incidents", "/api/v1/incidents", {"data": "title", "content_type": "text/plain"}, 415),
        ("post", "/api/v1/incidents", "/api/v1/incidents", {"json": {"title": "Disk full", "priority": "P9"}}, 422),
        ("post", "/api/v1/incidents", "/api/v1/incidents", {"json": {"title": "Disk full"}}, 201),
    ]
    for method, template, url, arguments, expected in calls:
        arguments = {**arguments, "headers": {**lead, **arguments.get("headers", {})}}
        response = client.open(url, method=method.upper(), **arguments)
        assert response.status_code == expected, (method, url, response.get_data(as_text=True))
        documented = document["paths"][template][method]["responses"].get(str(expected))
        assert documented is not None, (method, template, expected)
        documented = _resolve(document, documented)
        assert response.mimetype in documented.get("content", {}), (method, url, response.mimetype)
        for name, header in documented.get("headers", {}).items():
            if header.get("required"):
                assert name in response.headers, (method, url, name)
