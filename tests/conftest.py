"""Shared fixtures: Azurite (Table Storage) and the local AKS emulator, one of each per session."""

pytest_plugins = [
    "tests.fixtures.azurite",
    "tests.fixtures.emulator",
]
