"""Sizes in the postmortem document read as people write them: "1 byte", not "1 bytes" (found
by QA in a Markdown export's Files table and its upload line)."""

from __future__ import annotations

import pytest

from shared.incidents import export


@pytest.mark.parametrize(
    ("size", "words"),
    [(0, "0 bytes"), (1, "1 byte"), (2, "2 bytes"), (1023, "1,023 bytes"), (2048, "2.0 KB (2,048 bytes)")],
)
def test_a_file_size_reads_as_people_write_it(size, words):
    assert export.size_text(size) == words
