"""Helpers for the API tests (imported as `api_helpers`: `conftest` names another module when
the whole suite runs)."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

from flask import Flask
from sqlalchemy.orm import Session

from shared.accounts.models import User
from shared.config import Settings
from shared.evidence import service as evidence_service
from shared.evidence import tags
from shared.evidence.models import Evidence, EvidenceState
from shared.evidence.service import Verdict
from shared.evidence.storage import make_storage, new_key
from shared.incidents.models import Incident
from web.app import create_app

SECRET_KEY = "x" * 40


def bearer(value: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {value}"}


def add_evidence(
    db: Session,
    app: Flask,
    incident: Incident,
    uploader: User,
    name: str,
    data: bytes,
    *,
    state: str | None = None,
    reason: str = "",
    detected_type: str = "text/plain",
) -> Evidence:
    """Store `data` in the app's storage and attach it, as an upload would; with `state`, also
    record the verdict the worker would have reached (no worker runs in these tests)."""
    stored = make_storage(app.config["SETTINGS"]).put(new_key(tags.PREFIX_INCOMING), io.BytesIO(data))
    item = evidence_service.attach(
        session=db, incident_id=incident.id, actor=uploader, stored=stored, file_name=name, declared_type="text/plain"
    )
    db.flush()
    if state is not None:
        verdict = Verdict(EvidenceState(state), reason=reason, detected_type=detected_type)
        evidence_service.record_verdict(session=db, evidence_id=item.id, verdict=verdict)
    db.commit()
    return item


def stored_files(app: Flask) -> list[str]:
    """Every object in the app's local evidence storage (to prove a refusal left none behind)."""
    root = Path(app.config["SETTINGS"].effective_local_storage_path)
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def api_settings(database_url: str, evidence_dir: Path, **overrides) -> Settings:
    values = dict(
        app_env="test",
        database_url=database_url,
        secret_key=SECRET_KEY,
        rate_limit_login="10000 per minute",
        rate_limit_api="10000 per minute",
        log_level="WARNING",
        data_dir=str(evidence_dir),  # local evidence storage (and nothing else)
    )
    values.update(overrides)
    return Settings(**values).validated()


def build_api_app(settings: Settings) -> Flask:
    app = create_app(settings)
    app.config.update(TESTING=True, WTF_CSRF_ENABLED=False)  # forms; the API checks its header itself
    return app


def empty_folder(folder: Path) -> None:
    for stored in folder.iterdir():
        shutil.rmtree(stored) if stored.is_dir() else stored.unlink()
