"""Evidence files attached to incidents: one row per upload, its state decided by the worker."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.accounts.models import User
from shared.db import Base, utcnow


class EvidenceState(enum.StrEnum):
    PENDING = "pending"
    CLEAN = "clean"
    INFECTED = "infected"
    REJECTED = "rejected"
    ERROR = "error"
    NOT_SCANNED = "not_scanned"

    @property
    def label(self) -> str:
        return "not scanned" if self is EvidenceState.NOT_SCANNED else self.value


DOWNLOADABLE = frozenset({EvidenceState.CLEAN, EvidenceState.NOT_SCANNED})
REFUSED = frozenset({EvidenceState.INFECTED, EvidenceState.REJECTED})


class Evidence(Base):
    __tablename__ = "evidence"
    __table_args__ = (Index("ix_evidence_incident_created", "incident_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"))
    uploader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    display_name: Mapped[str] = mapped_column(String(300))  # cleaned by shared/evidence/names.py
    storage_key: Mapped[str] = mapped_column(String(120), unique=True)  # incoming/<uuid>; the worker moves it
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))  # computed while streaming the upload
    declared_extension: Mapped[str] = mapped_column(String(20), default="")
    declared_type: Mapped[str] = mapped_column(String(120), default="")  # the browser's claim, never trusted
    detected_type: Mapped[str | None] = mapped_column(String(120), default=None)  # libmagic's, served on download
    state: Mapped[str] = mapped_column(String(20), default=EvidenceState.PENDING.value)
    reason: Mapped[str | None] = mapped_column(String(500), default=None)  # why infected/rejected/error
    thumbnail_key: Mapped[str | None] = mapped_column(String(120), default=None)
    legal_hold: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0)  # processing runs (retries included)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)

    uploader: Mapped[User | None] = relationship(lazy="joined")

    @property
    def state_enum(self) -> EvidenceState:
        return EvidenceState(self.state)

    @property
    def downloadable(self) -> bool:
        return self.state_enum in DOWNLOADABLE
