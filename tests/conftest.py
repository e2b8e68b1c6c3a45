"""Shared fixtures: Azurite (Table Storage) and the local AKS emulator, one of each per session."""

import contextlib
from pathlib import Path

import pytest

pytest_plugins = ["tests.fixtures.azurite"]
if (Path(__file__).parent / "fixtures" / "emulator.py").exists():
    pytest_plugins += ["tests.fixtures.emulator", "tests.fixtures.api_world"]  # api_world: the `world` fixture


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """Remove pytest's temp root (`pytest-of-<user>`) when this run emptied it, so the temp dir is left as found."""
    basetemp = getattr(getattr(session.config, "_tmp_path_factory", None), "_basetemp", None)
    if basetemp is None or session.config.option.basetemp:
        return
    root = Path(basetemp).parent
    for leftover in [Path(basetemp), root / "pytest-current", root]:
        # not empty: another run is using it, or a test kept something on purpose
        with contextlib.suppress(OSError):
            if leftover.is_symlink():
                leftover.unlink()
            elif leftover.is_dir():
                for empty in [p for p in leftover.iterdir() if p.is_dir() and not any(p.iterdir())]:
                    empty.rmdir()
                leftover.rmdir()
