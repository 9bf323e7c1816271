"""Worker test fixtures: a real clamd, and a folder to write sample files into."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from servers import clamd_server, s3_endpoint_fixture  # noqa: F401 - provides the s3_endpoint fixture


@pytest.fixture(scope="session")
def clamd_address(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """tcp://127.0.0.1:PORT of a clamd using the shipped clamd.conf and the EICAR test signature."""
    with clamd_server(tmp_path_factory.mktemp("clamd")) as address:
        yield address


@pytest.fixture
def write_file(tmp_path: Path) -> Callable[[str, bytes], Path]:
    def write(name: str, data: bytes) -> Path:
        path = tmp_path / name
        path.write_bytes(data)
        return path

    return write
