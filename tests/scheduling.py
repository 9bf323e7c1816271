"""How `make test` hands test files to its xdist workers: longest first, and never more files
that mostly wait at once than there are lanes for them.

`make test` runs four workers on two cores with `--dist loadfile`. About a quarter of the
suite's worker time is spent waiting, not computing: on a Celery worker to stop, a lease to
lapse, a Redis outage to end. Handed out longest first alone, the four longest waiting files
started together and the cores sat ~75 % idle for 20 s (2026-11-30, a whole run sampled every
5 s). Here at most half the workers (`lanes`) run a waiting file; the others take the longest
computing file left, so the waits overlap with work instead of with each other.

Files that share a fixture too costly to build twice (a seeded 200k-incident database) are one
unit of work: one worker runs them one after the other, and builds it once.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import pytest
from xdist.scheduler import LoadFileScheduling
from xdist.workermanage import WorkerController


class WaitAwareFileScheduling(LoadFileScheduling):
    """`--dist loadfile` in the collection's order, but a worker that needs its next file gets
    the first waiting file in the queue while fewer than `lanes` waiting files are unfinished,
    and the first other file otherwise (whatever comes first once one kind has run out).
    Lanes: half the workers, at least one. `same_worker` maps a file to the file whose worker
    runs it too (a unit of work named after that file)."""

    def __init__(
        self,
        config: pytest.Config,
        log,
        *,
        waiting_files: Collection[str],
        same_worker: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(config, log)
        self.waiting_files = frozenset(waiting_files)
        self.same_worker = dict(same_worker or {})
        self.lanes = max(1, self.numnodes // 2)

    def _split_scope(self, nodeid: str) -> str:
        file = super()._split_scope(nodeid)
        return self.same_worker.get(file, file)

    def lanes_taken_by_others(self, node: WorkerController) -> int:
        """How many other workers hold an unfinished waiting file (running or next in line).
        `node` itself is not counted: xdist asks for a worker's next file while the last two
        tests of its current one still run, and the next starts only once they are done."""
        return sum(
            1
            for other, work in self.assigned_work.items()
            if other is not node
            and any(file in self.waiting_files and not all(tests.values()) for file, tests in work.items())
        )

    def _assign_work_unit(self, node: WorkerController) -> None:
        want_waiting = self.lanes_taken_by_others(node) < self.lanes
        for file in self.workqueue:
            if (file in self.waiting_files) == want_waiting:
                self.workqueue.move_to_end(file, last=False)  # the parent takes the first
                break
        super()._assign_work_unit(node)
