"""Import every domain's models so Base.metadata knows all tables (Alembic, tests)."""


def import_all_models() -> None:
    from shared.accounts import models as _accounts  # noqa: F401
    from shared.audit import models as _audit  # noqa: F401
    from shared.evidence import models as _evidence  # noqa: F401
    from shared.incidents import idempotency as _idempotency  # noqa: F401
    from shared.incidents import models as _incidents  # noqa: F401
    from shared.incidents import saved_views as _saved_views  # noqa: F401
    from shared.notifications import models as _notifications  # noqa: F401
    from shared.outbox import models as _outbox  # noqa: F401
