"""Table Storage plumbing against a real Azurite."""

import pytest

from scaling.settings import Settings
from scaling.storage.tables import StorageNotConfigured, ensure_tables, table_service

pytestmark = pytest.mark.integration


def test_ensure_tables_creates_every_table_and_tolerates_existing_ones(settings, table_names):
    service = table_service(settings)
    ensure_tables(service, table_names)
    ensure_tables(service, table_names)
    existing = {t.name for t in service.list_tables()}
    assert set(table_names.all()) <= existing


def test_table_service_without_settings_names_the_variables_to_set():
    with pytest.raises(StorageNotConfigured, match="SCALING_STORAGE_CONNECTION"):
        table_service(Settings.from_env({}))
