"""Shared fixtures: Azurite (Table Storage) and the local AKS emulator, one of each per session."""

from pathlib import Path

pytest_plugins = ["tests.fixtures.azurite"]
if (Path(__file__).parent / "fixtures" / "emulator.py").exists():
    pytest_plugins.append("tests.fixtures.emulator")
