"""Every app setting the app reads, in one frozen dataclass built from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

ARM_PUBLIC = "https://management.azure.com"
AKS_SERVER_SCOPE = "6dae42f8-4368-4678-94ff-3960e28e3630/.default"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it."""


def _int(env: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"setting {name}={raw!r} is not an integer") from None
    if not low <= value <= high:
        raise SettingsError(f"setting {name}={value} must be between {low} and {high}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    lowered = raw.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise SettingsError(f"setting {name}={raw!r} is not a boolean (true/false)")


def _public_url(env: Mapping[str, str]) -> str | None:
    configured = (env.get("SCALING_PUBLIC_URL") or "").strip().rstrip("/")
    if configured:
        if not configured.startswith(("https://", "http://")):
            raise SettingsError(f"setting SCALING_PUBLIC_URL={configured!r} must start with https://")
        return configured
    host = (env.get("WEBSITE_HOSTNAME") or "").strip()  # set by App Service / Functions
    return f"https://{host}" if host else None


@dataclass(frozen=True)
class Settings:
    """App settings. Secrets (connection strings, keys) are never logged: see `redacted()`."""

    storage_connection: str | None = None  # SCALING_STORAGE_CONNECTION, else AzureWebJobsStorage
    storage_account_url: str | None = None  # SCALING_STORAGE_ACCOUNT_URL (managed identity)
    timer_schedule: str = "0 */5 * * * *"  # SCALING_TIMER (NCRONTAB, 6 fields)
    arm_endpoint: str = ARM_PUBLIC  # SCALING_ARM_ENDPOINT (the emulator locally)
    arm_ca_bundle: str | None = None  # SCALING_ARM_CA_BUNDLE (emulator's self-signed cert)
    kubeconfig: str | None = None  # SCALING_KUBECONFIG: local mode, contexts named after clusters
    managed_identity_client_id: str | None = None  # AZURE_CLIENT_ID (user-assigned identity)
    local_credential: bool = False  # SCALING_LOCAL_CREDENTIAL: static token for the emulator
    api_key: str | None = None  # SCALING_API_KEY: reference-API bearer key (Key Vault reference)
    max_replicas: int = 50  # SCALING_MAX_REPLICAS
    max_override_hours: int = 72  # SCALING_MAX_OVERRIDE_HOURS
    concurrency: int = 8  # SCALING_CONCURRENCY: writes in flight per cluster
    cluster_concurrency: int = 16  # SCALING_CLUSTER_CONCURRENCY: clusters reconciled at once
    fanout: str = "in-process"  # SCALING_FANOUT: in-process | queue
    queue_name: str = "aks-hours-clusters"  # SCALING_QUEUE_NAME
    follow_up_seconds: int = 20  # SCALING_FOLLOW_UP_SECONDS: back to a cluster with work in flight; 0: off
    dry_run: bool = False  # SCALING_DRY_RUN: global dry run
    log_level: str = "INFO"  # SCALING_LOG_LEVEL
    appinsights_connection: str | None = None  # APPLICATIONINSIGHTS_CONNECTION_STRING
    link_key: str | None = None  # SCALING_LINK_KEY: signs heads-up / wake links (Key Vault reference)
    link_key_previous: str | None = None  # SCALING_LINK_KEY_PREVIOUS: still accepted while rotating
    public_url: str | None = None  # SCALING_PUBLIC_URL: where links point; else https://$WEBSITE_HOSTNAME
    link_grace_minutes: int = 60  # SCALING_LINK_GRACE_MINUTES: heads-up links work this long after the transition
    notify_concurrency: int = 32  # SCALING_NOTIFY_CONCURRENCY: webhook posts in flight
    audit_spool: str | None = None  # SCALING_AUDIT_SPOOL: directory keeping unwritten audit rows across runs

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        fanout = env.get("SCALING_FANOUT", "in-process").strip() or "in-process"
        if fanout not in ("in-process", "queue"):
            raise SettingsError(f"setting SCALING_FANOUT={fanout!r} must be 'in-process' or 'queue'")
        return cls(
            storage_connection=env.get("SCALING_STORAGE_CONNECTION") or env.get("AzureWebJobsStorage") or None,
            storage_account_url=env.get("SCALING_STORAGE_ACCOUNT_URL") or None,
            timer_schedule=env.get("SCALING_TIMER") or cls.timer_schedule,
            arm_endpoint=(env.get("SCALING_ARM_ENDPOINT") or ARM_PUBLIC).rstrip("/"),
            arm_ca_bundle=env.get("SCALING_ARM_CA_BUNDLE") or None,
            kubeconfig=env.get("SCALING_KUBECONFIG") or None,
            managed_identity_client_id=env.get("AZURE_CLIENT_ID") or None,
            local_credential=_bool(env, "SCALING_LOCAL_CREDENTIAL", False),
            api_key=env.get("SCALING_API_KEY") or None,
            max_replicas=_int(env, "SCALING_MAX_REPLICAS", 50, low=1, high=10_000),
            max_override_hours=_int(env, "SCALING_MAX_OVERRIDE_HOURS", 72, low=1, high=24 * 365),
            concurrency=_int(env, "SCALING_CONCURRENCY", 8, low=1, high=256),
            cluster_concurrency=_int(env, "SCALING_CLUSTER_CONCURRENCY", 16, low=1, high=256),
            fanout=fanout,
            queue_name=env.get("SCALING_QUEUE_NAME") or cls.queue_name,
            follow_up_seconds=_int(env, "SCALING_FOLLOW_UP_SECONDS", 20, low=0, high=300),
            dry_run=_bool(env, "SCALING_DRY_RUN", False),
            log_level=(env.get("SCALING_LOG_LEVEL") or "INFO").upper(),
            appinsights_connection=env.get("APPLICATIONINSIGHTS_CONNECTION_STRING") or None,
            link_key=env.get("SCALING_LINK_KEY") or None,
            link_key_previous=env.get("SCALING_LINK_KEY_PREVIOUS") or None,
            public_url=_public_url(env),
            link_grace_minutes=_int(env, "SCALING_LINK_GRACE_MINUTES", 60, low=0, high=24 * 60),
            notify_concurrency=_int(env, "SCALING_NOTIFY_CONCURRENCY", 32, low=1, high=256),
            audit_spool=env.get("SCALING_AUDIT_SPOOL") or None,
        )

    def redacted(self) -> dict[str, object]:
        """The settings with every secret replaced, safe to log."""
        secret = {"storage_connection", "api_key", "appinsights_connection", "link_key", "link_key_previous"}
        return {name: ("***" if name in secret and value else value) for name, value in self.__dict__.items()}
