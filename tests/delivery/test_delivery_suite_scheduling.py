"""`make test`'s file scheduling (tests/scheduling.py), driven the way xdist's controller drives
it: workers join, report their collection, and finish tests one by one."""

from __future__ import annotations

from types import SimpleNamespace

from scheduling import WaitAwareFileScheduling

WAITING = {"wait_a.py", "wait_b.py", "wait_c.py"}
# The collection in the order tests/conftest.py gives it: longest first.
COLLECTION = [
    *(f"wait_a.py::test_{n}" for n in range(4)),
    *(f"wait_b.py::test_{n}" for n in range(4)),
    *(f"wait_c.py::test_{n}" for n in range(4)),
    *(f"compute_{name}.py::test_{n}" for name in "abcde" for n in range(4)),
]


class FakeWorker:
    """What the scheduler uses of xdist's WorkerController: the tests it was sent."""

    def __init__(self, name: str) -> None:
        self.gateway = SimpleNamespace(id=name)
        self.shutting_down = False
        self.sent: list[int] = []

    def send_runtest_some(self, indices: list[int]) -> None:
        self.sent.extend(indices)

    def shutdown(self) -> None:
        self.shutting_down = True

    def files(self) -> list[str]:
        names: list[str] = []
        for index in self.sent:
            name = COLLECTION[index].split("::")[0]
            if name not in names:
                names.append(name)
        return names


def started(workers: int) -> tuple[WaitAwareFileScheduling, list[FakeWorker]]:
    config = SimpleNamespace(
        getvalue=lambda name: [f"{workers}*popen"] if name == "tx" else None,
        option=SimpleNamespace(loadscopereorder=False),  # --no-loadscope-reorder
    )
    scheduler = WaitAwareFileScheduling(config, None, waiting_files=WAITING)
    nodes = [FakeWorker(f"gw{n}") for n in range(workers)]
    for node in nodes:
        scheduler.add_node(node)
        scheduler.add_node_collection(node, COLLECTION)
    scheduler.schedule()
    return scheduler, nodes


def finish_file(scheduler: WaitAwareFileScheduling, node: FakeWorker, name: str) -> None:
    for index in list(node.sent):
        if COLLECTION[index].startswith(name + "::"):
            scheduler.mark_test_complete(node, index)


def test_four_workers_start_two_waiting_files_and_the_two_longest_computing_ones():
    _, nodes = started(4)

    assert [node.files() for node in nodes] == [["wait_a.py"], ["wait_b.py"], ["compute_a.py"], ["compute_b.py"]]


def test_a_worker_done_with_a_waiting_file_takes_the_next_waiting_one_and_the_others_compute():
    scheduler, nodes = started(4)

    finish_file(scheduler, nodes[2], "compute_a.py")  # two waiting files still run: compute
    assert nodes[2].files() == ["compute_a.py", "compute_c.py"]

    finish_file(scheduler, nodes[0], "wait_a.py")  # a lane is free: the next waiting file
    assert nodes[0].files() == ["wait_a.py", "wait_c.py"]

    for name, node in (("wait_b.py", nodes[1]), ("wait_c.py", nodes[0])):
        finish_file(scheduler, node, name)
    assert nodes[1].files() == ["wait_b.py", "compute_d.py"]  # no waiting file left: compute
    assert nodes[0].files() == ["wait_a.py", "wait_c.py", "compute_e.py"]


def test_every_test_is_sent_once():
    scheduler, nodes = started(4)

    while not scheduler.tests_finished:
        for node in nodes:
            for index in list(node.sent):
                scheduler.mark_test_complete(node, index)

    sent = sorted(index for node in nodes for index in node.sent)
    assert sent == list(range(len(COLLECTION)))


def test_two_workers_keep_one_lane_for_waiting_files():
    scheduler, nodes = started(2)

    assert scheduler.lanes == 1
    assert [node.files() for node in nodes] == [["wait_a.py"], ["compute_a.py"]]


def test_a_worker_with_a_waiting_file_queued_behind_another_takes_one_lane_not_two():
    scheduler, nodes = started(4)
    for index in nodes[0].sent[:2]:  # wait_a's last two tests run: gw0 is handed its next file
        scheduler.mark_test_complete(nodes[0], index)
    assert nodes[0].files() == ["wait_a.py", "wait_c.py"]  # gw1's wait_b takes the other lane

    assert scheduler.lanes_taken_by_others(nodes[2]) == 2  # gw0 and gw1, not three files


def test_files_sharing_a_costly_fixture_go_to_one_worker_together():
    # compute_b and compute_d share compute_b's seeded database: one unit of work, so one worker
    # runs both (and builds it once); every other worker gets none of their tests.
    config = SimpleNamespace(
        getvalue=lambda name: ["4*popen"] if name == "tx" else None,
        option=SimpleNamespace(loadscopereorder=False),
    )
    together = {"compute_b.py": "compute_b.py", "compute_d.py": "compute_b.py"}
    scheduler = WaitAwareFileScheduling(config, None, waiting_files=WAITING, same_worker=together)
    nodes = [FakeWorker(f"gw{n}") for n in range(4)]
    for node in nodes:
        scheduler.add_node(node)
        scheduler.add_node_collection(node, COLLECTION)
    scheduler.schedule()

    while not scheduler.tests_finished:
        for node in nodes:
            for index in list(node.sent):
                scheduler.mark_test_complete(node, index)

    holders = [node for node in nodes if {"compute_b.py", "compute_d.py"} & set(node.files())]
    assert len(holders) == 1
    files = holders[0].files()
    assert files.index("compute_d.py") == files.index("compute_b.py") + 1
    assert sorted(index for node in nodes for index in node.sent) == list(range(len(COLLECTION)))
