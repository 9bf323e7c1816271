"""Objects in evidence storage that no evidence row needs: found and deleted after a grace period.

How they arise: an upload stored its object, then neither its row could be committed nor the
object deleted (S3 answering 500 to both, the web process killed in between); or a worker was
killed during a move (S3 has no rename: copy, then delete) of a file whose verdict another run
recorded later. Nothing points at such an object, so nobody could ever download or expire it
by its incident; the beat runs `sweep` every ORPHAN_SWEEP_INTERVAL_SECONDS.

Every key of one evidence file shares its UUID name (`incoming/<id>`, `evidence/<id>`,
`quarantine/<id>`, `thumbnails/<id>`). An object is needed when its row's storage_key or
thumbnail_key is that key, or when its row is still pending (the worker may be moving it).
Objects younger than the grace period are left alone: an upload stores the object a moment
before it commits the row.

An orphan belongs to no incident, so no legal hold may keep it. One can be held all the same
(a worker killed mid-move on an incident already on hold leaves a held copy behind), and on an
S3 bucket with Object Lock a plain delete only hides a held version under a delete marker, where
no sweep would see it again and the noncurrent-version lifecycle rule can never purge it. So the
sweep lifts the legal hold on every version of an orphan first, then deletes it; its versions
then go with the noncurrent-version rule, once any Object Lock retention has run out. When the
storage refuses (AccessDenied, throttling), the object is left as it is, one warning names it
with the reason, and the sweep goes on; the next sweep tries it again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shared.db import utcnow
from shared.evidence import tags
from shared.evidence.models import Evidence, EvidenceState
from shared.evidence.storage import ListedObject, ObjectNotFound, Storage, StorageError

log = logging.getLogger(__name__)

SWEPT_PREFIXES = (tags.PREFIX_INCOMING, tags.PREFIX_EVIDENCE, tags.PREFIX_QUARANTINE, tags.PREFIX_THUMBNAILS)
ROW_PREFIXES = (tags.PREFIX_INCOMING, tags.PREFIX_EVIDENCE, tags.PREFIX_QUARANTINE)  # where storage_key lives
BATCH = 500


@dataclass(frozen=True)
class SweepReport:
    checked: int
    deleted: list[str]
    kept: dict[str, str] = field(default_factory=dict)  # unneeded, but the storage refused: key -> why


def _name(key: str) -> str:
    return key.rsplit("/", 1)[1]


def _unneeded(session: Session, batch: list[ListedObject]) -> list[str]:
    names = {_name(item.key) for item in batch}
    candidates = [prefix + name for name in names for prefix in ROW_PREFIXES]
    rows = session.execute(
        select(Evidence.storage_key, Evidence.thumbnail_key, Evidence.state).where(Evidence.storage_key.in_(candidates))
    ).all()
    by_name = {_name(storage_key): (storage_key, thumbnail_key, state) for storage_key, thumbnail_key, state in rows}
    unneeded = []
    for item in batch:
        row = by_name.get(_name(item.key))
        if row is None:
            unneeded.append(item.key)
            continue
        storage_key, thumbnail_key, state = row
        if state != EvidenceState.PENDING.value and item.key not in (storage_key, thumbnail_key):
            unneeded.append(item.key)
    return unneeded


def _batches(items: Iterable[ListedObject], size: int) -> Iterable[list[ListedObject]]:
    batch: list[ListedObject] = []
    for item in items:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def sweep(*, session: Session, storage: Storage, grace: timedelta, now: datetime | None = None) -> SweepReport:
    """Delete evidence objects older than `grace` that no evidence row needs, their legal holds
    lifted first; report what went, and what the storage refused to release or delete."""
    cutoff = (now or utcnow()) - grace
    checked = 0
    deleted: list[str] = []
    kept: dict[str, str] = {}
    for prefix in SWEPT_PREFIXES:
        old_enough = (item for item in storage.list_objects(prefix) if item.modified < cutoff)
        for batch in _batches(old_enough, BATCH):
            checked += len(batch)
            for key in _unneeded(session, batch):
                try:
                    _release_and_delete(storage, key)
                except ObjectNotFound:
                    continue  # deleted meanwhile: nothing left to sweep
                except StorageError as error:
                    kept[key] = str(error)
                    log.warning("kept evidence object %s that no evidence row needs: %s", key, error)
                    continue
                deleted.append(key)
    if deleted:
        log.warning(
            "deleted %d evidence objects no evidence row needs, any legal hold on their versions lifted first: %s",
            len(deleted),
            ", ".join(deleted[:20]),
        )
    return SweepReport(checked=checked, deleted=deleted, kept=kept)


def _release_and_delete(storage: Storage, key: str) -> None:
    # Lift first: deleted first, a held version would sit under the delete marker, out of the
    # listing, held for ever. A refused lift leaves the object listed for the next sweep.
    storage.set_legal_hold(key, False)
    storage.delete(key)
