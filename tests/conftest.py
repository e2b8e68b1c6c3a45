"""Shared fixtures: Azurite (Table Storage) and the local AKS emulator, one of each per session."""

from pathlib import Path

pytest_plugins = ["tests.fixtures.azurite"]
if (Path(__file__).parent / "fixtures" / "emulator.py").exists():
    pytest_plugins += ["tests.fixtures.emulator", "tests.fixtures.api_world"]  # api_world: the `world` fixture
