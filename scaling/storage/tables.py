"""Table Storage access: table names, the service client, and creating missing tables."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, fields

from azure.core.credentials import TokenCredential
from azure.core.exceptions import ResourceExistsError
from azure.data.tables import TableServiceClient

from scaling.settings import Settings


class StorageNotConfigured(RuntimeError):
    """No storage connection was given in the settings."""


@dataclass(frozen=True)
class TableNames:
    """The tables the app uses; tests give each test its own names."""

    projects: str = "Projects"
    overrides: str = "Overrides"
    audit: str = "Audit"
    locks: str = "Locks"
    notifications: str = "Notifications"  # scaling/notify/store.py

    def all(self) -> tuple[str, ...]:
        return tuple(getattr(self, f.name) for f in fields(self))


def table_service(settings: Settings, credential: TokenCredential | None = None) -> TableServiceClient:
    """A TableServiceClient from a connection string, or an account URL plus an Entra credential; its
    connection pool has room for the audit writes of every cluster a tick runs at once."""
    from scaling.storage.audit import PARALLEL_BATCHES
    from scaling.transport import pooled_transport

    transport = pooled_transport(settings.cluster_concurrency * PARALLEL_BATCHES)
    if settings.storage_connection:
        return TableServiceClient.from_connection_string(settings.storage_connection, transport=transport)
    if settings.storage_account_url:
        if credential is None:
            from azure.identity import DefaultAzureCredential

            credential = DefaultAzureCredential(managed_identity_client_id=settings.managed_identity_client_id)
        return TableServiceClient(endpoint=settings.storage_account_url, credential=credential, transport=transport)
    raise StorageNotConfigured(
        "no Table Storage configured: set SCALING_STORAGE_CONNECTION (or AzureWebJobsStorage) to a connection "
        "string, or SCALING_STORAGE_ACCOUNT_URL to the account's table endpoint for managed identity"
    )


def ensure_tables(service: TableServiceClient, names: TableNames) -> None:
    """Create every table in `names` that does not exist yet."""
    for name in names.all():
        with contextlib.suppress(ResourceExistsError):
            service.create_table(name)
