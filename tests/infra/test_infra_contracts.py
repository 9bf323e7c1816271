"""Names the Terraform shares with the app must match the single place they are agreed.

- S3 object tags and key prefixes: shared/evidence/tags.py (the worker writes them; the
  evidence_bucket lifecycle rules and bucket policy read them).
- CloudWatch metric namespace, names and dimensions: shared/metrics.py (the worker publishes
  them through EMF; ecs_service autoscaling and monitoring alarms read them).
- The prefixes the worker's orphan sweep lists and deletes under: shared/evidence/orphans.py
  (the iam module's worker role must allow exactly that listing).
- The REDIS_URL the redis module writes: the app's Redis clients (kombu for the Celery broker,
  redis-py for the queue metrics, limits for Flask-Limiter) must take it and verify the
  server's certificate.
"""

from __future__ import annotations

import re
import ssl
from pathlib import Path
from typing import Any

import pytest
import tfcheck

from shared import broker, metrics
from shared.config import Settings
from shared.evidence import orphans, tags

TAG_VALUES = {
    tags.TAG_SCAN_STATUS: set(tags.SCAN_STATUS_VALUES),
    tags.TAG_RETENTION: set(tags.RETENTION_VALUES),
    tags.TAG_LEGAL_HOLD: {tags.LEGAL_HOLD_ON, tags.LEGAL_HOLD_OFF},
}
PREFIXES = {tags.PREFIX_INCOMING, tags.PREFIX_EVIDENCE, tags.PREFIX_QUARANTINE, tags.PREFIX_THUMBNAILS}
METRIC_NAMES = {metrics.METRIC_QUEUE_DEPTH, metrics.METRIC_OLDEST_MESSAGE_AGE, metrics.METRIC_TASK_FAILURES}
DIMENSIONS = {metrics.DIMENSION_ENVIRONMENT, metrics.DIMENSION_QUEUE}


def _first(blocks: Any) -> dict:
    if isinstance(blocks, list):
        return blocks[0] if blocks and isinstance(blocks[0], dict) else {}
    return blocks if isinstance(blocks, dict) else {}


def _resources(tfdir: tfcheck.TfDir, kind: str) -> list[tuple[str, dict]]:
    found = []
    for parsed in tfdir.files.values():
        for rtype, name, body in tfcheck.iter_two_label_blocks(parsed, "resource"):
            if rtype == kind:
                found.append((name, tfcheck.strip_comments(body)))
    return found


def _data(tfdir: tfcheck.TfDir, kind: str) -> list[tuple[str, dict]]:
    found = []
    for parsed in tfdir.files.values():
        for dtype, name, body in tfcheck.iter_two_label_blocks(parsed, "data"):
            if dtype == kind:
                found.append((name, tfcheck.strip_comments(body)))
    return found


# -- evidence bucket --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def evidence(terraform_root: Path) -> tfcheck.TfDir:
    return tfcheck.TfDir.load(terraform_root / "modules" / "evidence_bucket", terraform_root)


def _lifecycle_rules(evidence: tfcheck.TfDir) -> list[dict]:
    """Each rule of the evidence bucket's lifecycle as {id, prefix, tags, transitions, expiration_days}."""
    configs = [
        body
        for _, body in _resources(evidence, "aws_s3_bucket_lifecycle_configuration")
        if body.get("bucket") in ("${aws_s3_bucket.this.id}", "${aws_s3_bucket.this.bucket}")
    ]
    assert configs, "evidence_bucket has no aws_s3_bucket_lifecycle_configuration for aws_s3_bucket.this"
    rules = []
    for config in configs:
        assert not config.get("dynamic"), "lifecycle rules must be static blocks so the tag contract can be checked"
        for rule in config.get("rule", []):
            rule_filter = _first(rule.get("filter"))
            conjunction = _first(rule_filter.get("and"))
            rule_tags: dict[str, Any] = {}
            tag = _first(rule_filter.get("tag"))
            if tag:
                rule_tags[tfcheck.resolve(evidence, tag.get("key"))] = tfcheck.resolve(evidence, tag.get("value"))
            rule_tags.update(tfcheck.resolve(evidence, conjunction.get("tags") or {}))
            prefix = tfcheck.resolve(evidence, conjunction.get("prefix") or rule_filter.get("prefix"))
            expiration = _first(rule.get("expiration"))
            rules.append(
                {
                    "id": rule.get("id"),
                    "prefix": prefix,
                    "tags": rule_tags,
                    "transitions": [
                        tfcheck.resolve(evidence, t.get("storage_class")) for t in rule.get("transition", [])
                    ],
                    "expires": "days" in expiration,
                }
            )
    return rules


def test_lifecycle_tag_filters_use_the_agreed_keys_and_values(evidence: tfcheck.TfDir) -> None:
    rules = _lifecycle_rules(evidence)
    tagged = [r for r in rules if r["tags"]]
    assert tagged, "no lifecycle rule filters on the object tags the worker writes"
    for rule in tagged:
        for key, value in rule["tags"].items():
            assert key in TAG_VALUES, f"rule {rule['id']}: tag key {key!r} is not one of {sorted(TAG_VALUES)}"
            assert value in TAG_VALUES[key], (
                f"rule {rule['id']}: tag {key}={value!r} is not one of {sorted(TAG_VALUES[key])} (shared/evidence/tags)"
            )


def test_lifecycle_prefixes_are_the_agreed_ones(evidence: tfcheck.TfDir) -> None:
    for rule in _lifecycle_rules(evidence):
        if rule["prefix"] not in (None, ""):
            assert rule["prefix"] in PREFIXES, f"rule {rule['id']}: prefix {rule['prefix']!r} not in {sorted(PREFIXES)}"


# Storage classes S3 serves a GET from directly. The app never restores an object (downloads,
# presigned URLs and thumbnails read it as it is): GLACIER (Flexible Retrieval) or DEEP_ARCHIVE
# would make every old closed incident's files fail with InvalidObjectState.
READABLE_STORAGE_CLASSES = {"STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING", "GLACIER_IR"}


def test_closed_evidence_moves_to_ia_then_glacier_ir_then_expires_unless_legal_hold(evidence: tfcheck.TfDir) -> None:
    rules = _lifecycle_rules(evidence)
    closed_free = {tags.TAG_RETENTION: tags.RETENTION_CLOSED, tags.TAG_LEGAL_HOLD: tags.LEGAL_HOLD_OFF}
    main = [r for r in rules if r["prefix"] == tags.PREFIX_EVIDENCE and r["tags"] == closed_free]
    assert main, f"no rule on {tags.PREFIX_EVIDENCE} filtering exactly {closed_free}"
    assert any(r["transitions"][:2] == ["STANDARD_IA", "GLACIER_IR"] and r["expires"] for r in main), (
        f"closed evidence without legal hold should go STANDARD_IA -> GLACIER_IR -> expire: {main}"
    )
    for rule in rules:
        unreadable = set(rule["transitions"]) - READABLE_STORAGE_CLASSES
        assert not unreadable, (
            f"rule {rule['id']} moves objects to {sorted(unreadable)}, which S3 serves only after a restore"
        )
    for rule in rules:
        # Anything tag-filtered that transitions or expires must only touch closed incidents,
        # and nothing tag-filtered may expire an object on legal hold.
        if rule["tags"] and (rule["transitions"] or rule["expires"]):
            assert rule["tags"].get(tags.TAG_RETENTION) == tags.RETENTION_CLOSED, (
                f"rule {rule['id']} touches active evidence"
            )
        if rule["expires"] and rule["prefix"] in (tags.PREFIX_EVIDENCE, tags.PREFIX_THUMBNAILS, None, ""):
            assert rule["tags"].get(tags.TAG_LEGAL_HOLD) == tags.LEGAL_HOLD_OFF, (
                f"rule {rule['id']} expires current objects without {tags.TAG_LEGAL_HOLD}={tags.LEGAL_HOLD_OFF}"
            )


def test_quarantine_expires(evidence: tfcheck.TfDir) -> None:
    rules = _lifecycle_rules(evidence)
    assert any(r["prefix"] == tags.PREFIX_QUARANTINE and r["expires"] for r in rules), (
        f"no rule expires {tags.PREFIX_QUARANTINE}"
    )


def _policy_statements(evidence: tfcheck.TfDir) -> list[dict]:
    statements = []
    for _, body in _data(evidence, "aws_iam_policy_document"):
        statements.extend(body.get("statement", []))
    return statements


def test_bucket_policy_serves_only_clean_objects_by_the_agreed_tag(evidence: tfcheck.TfDir) -> None:
    conditions = [
        (statement, condition)
        for statement in _policy_statements(evidence)
        for condition in statement.get("condition", [])
        if str(condition.get("variable", "")).startswith("s3:ExistingObjectTag/")
    ]
    assert conditions, "the evidence bucket policy has no s3:ExistingObjectTag condition"
    for statement, condition in conditions:
        tag_key = tfcheck.resolve(evidence, condition["variable"]).removeprefix("s3:ExistingObjectTag/")
        assert tag_key == tags.TAG_SCAN_STATUS, f"ExistingObjectTag uses {tag_key!r}, expected {tags.TAG_SCAN_STATUS!r}"
        values = set(tfcheck.resolve(evidence, condition.get("values")) or [])
        assert tags.SCAN_CLEAN in values, (
            f"statement {statement.get('sid')}: {tags.SCAN_CLEAN!r} objects must be readable"
        )
        assert values <= {tags.SCAN_CLEAN, tags.SCAN_NOT_SCANNED}, (
            f"statement {statement.get('sid')}: readable scan statuses {sorted(values)} include unsafe values"
        )
        expected_deny = (
            f"statement {statement.get('sid')}: expected Deny unless {tags.TAG_SCAN_STATUS} in {sorted(values)}"
        )
        assert statement.get("effect") == "Deny", expected_deny
        assert condition.get("test") == "StringNotEquals", expected_deny
        assert {"s3:GetObject"} <= set(statement.get("actions", [])), (
            f"statement {statement.get('sid')}: must deny s3:GetObject"
        )


def test_only_the_worker_may_write_tags(evidence: tfcheck.TfDir) -> None:
    tagging = [s for s in _policy_statements(evidence) if "s3:PutObjectTagging" in s.get("actions", [])]
    assert tagging, "the evidence bucket policy does not restrict s3:PutObjectTagging"
    for statement in tagging:
        assert statement.get("effect") == "Deny"
        assert any(
            c.get("variable") == "aws:PrincipalArn"
            and c.get("test") in ("ArnNotEquals", "ArnNotLike")
            and any("var.worker_role_arn" in str(v) for v in c.get("values") or [])
            for c in statement.get("condition", [])
        ), f"statement {statement.get('sid')}: the worker role must be the only exception"


# -- metrics ------------------------------------------------------------------------------------


def _metric_specs(tfdir: tfcheck.TfDir) -> list[tuple[str, Any, Any, list[Any]]]:
    """(where, namespace, metric_name, dimension names) of every metric a module references.

    Looks at alarms (top level and metric_query.metric) and at customized metric
    specifications of autoscaling policies.
    """
    specs: list[tuple[str, Any, Any, list[Any]]] = []

    def visit(where: str, node: Any) -> None:
        if isinstance(node, dict):
            if "metric_name" in node and "namespace" in node:
                dims = node.get("dimensions")
                if isinstance(dims, list):  # dimensions { name = ..., value = ... } blocks
                    names = [tfcheck.resolve(tfdir, d.get("name")) for d in dims if isinstance(d, dict)]
                elif isinstance(dims, dict):  # dimensions = { Name = value }
                    names = [tfcheck.resolve(tfdir, k) for k in dims]
                else:
                    names = []
                specs.append(
                    (
                        where,
                        tfcheck.resolve(tfdir, node["namespace"]),
                        tfcheck.resolve(tfdir, node["metric_name"]),
                        names,
                    )
                )
            for key, value in node.items():
                visit(f"{where}.{key}", value)
        elif isinstance(node, list):
            for item in node:
                visit(where, item)

    for parsed in tfdir.files.values():
        for rtype, name, body in tfcheck.iter_two_label_blocks(parsed, "resource"):
            visit(f"{rtype}.{name}", tfcheck.strip_comments(body))
    return specs


@pytest.mark.parametrize("module", ["ecs_service", "monitoring"])
def test_app_metrics_use_the_agreed_namespace_names_and_dimensions(terraform_root: Path, module: str) -> None:
    tfdir = tfcheck.TfDir.load(terraform_root / "modules" / module, terraform_root)
    app_specs = [s for s in _metric_specs(tfdir) if s[1] == metrics.METRIC_NAMESPACE]
    assert app_specs, f"{module} reads no metric in namespace {metrics.METRIC_NAMESPACE!r}"
    for where, _, name, dims in app_specs:
        assert name in METRIC_NAMES, f"{module} {where}: metric {name!r} is not one of {sorted(METRIC_NAMES)}"
        unknown = [d for d in dims if d not in DIMENSIONS]
        assert not unknown, f"{module} {where}: dimensions {unknown} are not in {sorted(DIMENSIONS)}"
    # Other namespaces must not be typos of ours.
    for where, namespace, _, _ in _metric_specs(tfdir):
        if isinstance(namespace, str) and not namespace.startswith(("AWS/", "ECS/", "${")):
            assert namespace == metrics.METRIC_NAMESPACE, f"{module} {where}: unexpected namespace {namespace!r}"


def test_worker_scales_on_queue_depth_and_monitoring_alarms_on_every_app_metric(terraform_root: Path) -> None:
    service = tfcheck.TfDir.load(terraform_root / "modules" / "ecs_service", terraform_root)
    monitoring = tfcheck.TfDir.load(terraform_root / "modules" / "monitoring", terraform_root)
    scaled = {s[2] for s in _metric_specs(service) if s[1] == metrics.METRIC_NAMESPACE}
    assert metrics.METRIC_QUEUE_DEPTH in scaled, f"ecs_service does not scale on {metrics.METRIC_QUEUE_DEPTH}"
    alarmed = {s[2] for s in _metric_specs(monitoring) if s[1] == metrics.METRIC_NAMESPACE}
    assert alarmed == METRIC_NAMES, f"monitoring alarms on {sorted(alarmed)}, expected {sorted(METRIC_NAMES)}"


# -- task roles against what the app does with the bucket --------------------------------------

# The S3 calls each service makes, by prefix (shared/evidence/storage.py, web/evidence/views.py,
# worker/processing/placement.py). The web app uploads to incoming/ (multipart included) and
# deletes its upload again when the database write after it fails (no orphan object); it reads
# only what it serves: clean evidence (presigned GETs carry its identity) and thumbnails, which
# it streams itself. The worker also tags an object it leaves in incoming/ (an `error` verdict).
WEB_S3_USE = {
    "s3:PutObject": {tags.PREFIX_INCOMING},
    "s3:AbortMultipartUpload": {tags.PREFIX_INCOMING},
    "s3:DeleteObject": {tags.PREFIX_INCOMING},
    "s3:GetObject": {tags.PREFIX_EVIDENCE, tags.PREFIX_THUMBNAILS},
}
WORKER_TAGGED = {tags.PREFIX_INCOMING, tags.PREFIX_EVIDENCE, tags.PREFIX_QUARANTINE, tags.PREFIX_THUMBNAILS}


@pytest.fixture(scope="module")
def iam(terraform_root: Path) -> tfcheck.TfDir:
    return tfcheck.TfDir.load(terraform_root / "modules" / "iam", terraform_root)


def _s3_grants(iam: tfcheck.TfDir, role: str) -> dict[str, set[str]]:
    """{action: {prefix, ...}} of the role's policy, from `local.<prefix>` object ARNs."""
    (body,) = [body for name, body in _data(iam, "aws_iam_policy_document") if name == role]
    grants: dict[str, set[str]] = {}
    for statement in body.get("statement", []):
        assert statement.get("effect", "Allow") == "Allow", f"{role}: unexpected Deny {statement.get('sid')}"
        prefixes = set()
        for resource in statement.get("resources", []):
            for name in re.findall(r"local\.(\w+)", str(resource)):
                prefixes.add(f"{name}/")
        for action in statement.get("actions", []):
            if str(action).startswith("s3:"):
                grants.setdefault(action, set()).update(prefixes)
    return grants


def test_the_web_role_reads_only_what_it_serves_and_cleans_up_its_uploads(iam: tfcheck.TfDir) -> None:
    grants = _s3_grants(iam, "web")
    assert grants == WEB_S3_USE, f"web role S3 grants {grants} != what the web app does {WEB_S3_USE}"
    assert not any(tags.PREFIX_QUARANTINE in prefixes for prefixes in grants.values())


def test_the_worker_role_may_tag_every_object_it_tags(iam: tfcheck.TfDir) -> None:
    grants = _s3_grants(iam, "worker")
    missing = WORKER_TAGGED - grants.get("s3:PutObjectTagging", set())
    assert not missing, f"the worker tags objects under {sorted(missing)} but may not"
    # Reading them back to merge (PutObjectTagging replaces the whole set) needs the same reach.
    assert grants.get("s3:GetObjectTagging", set()) >= WORKER_TAGGED


# The hourly orphan sweep (shared/evidence/orphans.py, run by the worker) lists each swept prefix
# (ListObjectsV2, Prefix = S3_KEY_PREFIX + prefix) and deletes objects under it.
SWEPT = set(orphans.SWEPT_PREFIXES)
# An s3:prefix value: the environment's key prefix (previews: pr-<n>/), then a swept prefix.
_LIST_PREFIX = re.compile(r"^\$\{local\.p\}([a-z]+/)\*?$")


def _statements_with(iam: tfcheck.TfDir, role: str, action: str) -> list[dict]:
    (body,) = [body for name, body in _data(iam, "aws_iam_policy_document") if name == role]
    return [s for s in body.get("statement", []) if action in s.get("actions", [])]


def test_the_worker_role_may_delete_under_every_prefix_the_orphan_sweep_sweeps(iam: tfcheck.TfDir) -> None:
    missing = SWEPT - _s3_grants(iam, "worker").get("s3:DeleteObject", set())
    assert not missing, f"the orphan sweep deletes under {sorted(missing)} but the worker may not"


def test_the_worker_role_may_list_only_the_prefixes_the_orphan_sweep_lists(iam: tfcheck.TfDir) -> None:
    listing = _statements_with(iam, "worker", "s3:ListBucket")
    assert listing, "the orphan sweep lists the bucket (ListObjectsV2) but the worker role has no s3:ListBucket"
    listed: set[str] = set()
    for statement in listing:
        sid = statement.get("sid")
        assert statement.get("resources") == ["${local.bucket}"], f"{sid}: s3:ListBucket belongs on the bucket ARN"
        conditions = [c for c in statement.get("condition", []) if c.get("variable") == "s3:prefix"]
        assert len(conditions) == 1, f"{sid}: s3:ListBucket without an s3:prefix condition lists the whole bucket"
        (condition,) = conditions
        assert condition.get("test") in ("StringLike", "StringEquals"), f"{sid}: s3:prefix test {condition.get('test')}"
        for value in condition.get("values", []):
            match = _LIST_PREFIX.match(str(value))
            assert match, f"{sid}: s3:prefix {value!r} must be the key prefix (local.p) and one swept prefix"
            listed.add(match.group(1))
    assert listed == SWEPT, f"the worker may list {sorted(listed)}, the orphan sweep lists {sorted(SWEPT)}"
    # Nothing else on the bucket itself but what legal holds need (below): no listing of
    # uploads, no other configuration.
    (body,) = [body for name, body in _data(iam, "aws_iam_policy_document") if name == "worker"]
    bucket_actions = {
        action
        for statement in body.get("statement", [])
        if "${local.bucket}" in statement.get("resources", [])
        for action in statement.get("actions", [])
    }
    assert bucket_actions == {"s3:ListBucket", *LEGAL_HOLD_BUCKET_USE}, (
        f"the worker role's actions on the bucket: {sorted(bucket_actions)}"
    )


# S3 Object Lock legal holds (shared/evidence/storage.py S3Storage.set_legal_hold, called from
# worker/processing/placement.py wherever the legal-hold tag is written): GetObjectLockConfiguration
# once per process, then per key ListObjectVersions (Prefix = the key) and PutObjectLegalHold on
# each version. Nothing reads a hold or a retention back.
LEGAL_HOLD_BUCKET_USE = {"s3:GetBucketObjectLockConfiguration", "s3:ListBucketVersions"}


def test_the_worker_role_may_hold_every_object_it_tags_and_nothing_more(iam: tfcheck.TfDir) -> None:
    grants = _s3_grants(iam, "worker")
    missing = WORKER_TAGGED - grants.get("s3:PutObjectLegalHold", set())
    assert not missing, f"the worker holds objects under {sorted(missing)} but may not"
    unused = {"s3:GetObjectLegalHold", "s3:GetObjectRetention", "s3:PutObjectRetention"} & set(grants)
    assert not unused, f"the worker role is granted {sorted(unused)}, which the app never calls"
    for action in LEGAL_HOLD_BUCKET_USE:
        statements = _statements_with(iam, "worker", action)
        assert statements, f"legal holds need {action} but the worker role has none"
        for statement in statements:
            assert statement.get("resources") == ["${local.bucket}"], f"{statement.get('sid')}: {action} on the bucket"
    (listing,) = _statements_with(iam, "worker", "s3:ListBucketVersions")
    (condition,) = [c for c in listing.get("condition", []) if c.get("variable") == "s3:prefix"]
    listed = {m.group(1) for value in condition.get("values", []) if (m := _LIST_PREFIX.match(str(value)))}
    assert len(listed) == len(condition.get("values", [])), f"s3:prefix values {condition.get('values')}"
    assert listed == WORKER_TAGGED, f"versions may be listed under {sorted(listed)}, holds are set under all four"


# -- REDIS_URL against the app's Redis clients -------------------------------------------------

# Stand-ins for what the REDIS_URL template interpolates (module redis, aws_secretsmanager_secret_version.redis_url).
REDIS_URL_VALUES = {
    "urlencode(local.auth_token)": "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01",
    "aws_elasticache_replication_group.this.primary_endpoint_address": "master.it-test.abc123.euw1.cache.amazonaws.com",
    "local.port": "6379",
    "var.redis_url_database": "0",
}


@pytest.fixture(scope="module")
def redis_url(terraform_root: Path) -> str:
    """The REDIS_URL the redis module writes, with sample values in place of its interpolations."""
    redis_module = tfcheck.TfDir.load(terraform_root / "modules" / "redis", terraform_root)
    versions = _resources(redis_module, "aws_secretsmanager_secret_version")
    (body,) = [body for name, body in versions if name == "redis_url"]
    template = str(body["secret_string"])
    unknown = set(tfcheck.expressions(template)) - set(REDIS_URL_VALUES)
    assert not unknown, f"REDIS_URL interpolates {sorted(unknown)}: add sample values for them here"
    url = template
    for expression, value in REDIS_URL_VALUES.items():
        url = url.replace("${" + expression + "}", value)
    return url


def test_redis_url_makes_the_celery_broker_verify_the_server_certificate(redis_url: str) -> None:
    from kombu import Connection

    assert redis_url.startswith("rediss://"), "ElastiCache requires TLS in transit: REDIS_URL must be rediss://"
    settings = Settings(redis_url=redis_url)
    # How make_celery and the web's outbox publisher connect: broker_url and the transport options.
    connection = Connection(settings.effective_broker_url, transport_options=broker.transport_options(settings))
    ssl_options = connection.ssl if isinstance(connection.ssl, dict) else {}
    cert_reqs = ssl_options.get("ssl_cert_reqs")
    assert cert_reqs == ssl.CERT_REQUIRED, (
        f"kombu connects to {redis_url!r} with ssl_cert_reqs={cert_reqs!r}: any certificate would do"
        " (append ?ssl_cert_reqs=required)"
    )
    assert connection.hostname == REDIS_URL_VALUES["aws_elasticache_replication_group.this.primary_endpoint_address"]
    assert connection.password == REDIS_URL_VALUES["urlencode(local.auth_token)"]
    assert str(connection.virtual_host) == "0"


def test_redis_url_is_taken_by_redis_py_and_the_rate_limiter_with_verification(redis_url: str) -> None:
    import redis
    from limits.storage import storage_from_string

    # worker/metrics.py (the beat's queue metrics) and .github/scripts/preview.sh.
    pool = redis.Redis.from_url(redis_url, socket_connect_timeout=1).connection_pool
    assert pool.connection_kwargs.get("db") == 0
    assert pool.make_connection().cert_reqs == ssl.CERT_REQUIRED
    # web/app.py: Flask-Limiter hands RATELIMIT_STORAGE_URI and its options to limits.
    storage = storage_from_string(redis_url, socket_connect_timeout=1, socket_timeout=1)
    limiter_pool = storage.storage.connection_pool
    assert limiter_pool.connection_kwargs.get("db") == 0
    assert limiter_pool.make_connection().cert_reqs == ssl.CERT_REQUIRED
