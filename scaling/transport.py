"""An azure-core HTTP transport whose connection pool holds every connection the app keeps in flight."""

from __future__ import annotations

from typing import Any

DEFAULT_POOL = 10  # requests' own default


def pooled_transport(pool_size: int, **options: Any) -> Any:
    """A RequestsTransport keeping up to `pool_size` connections per host (requests keeps 10 and drops,
    then re-opens with a new TLS handshake, every one past that). `options`: connection_timeout,
    read_timeout, connection_verify."""
    import requests
    from azure.core.pipeline.transport import RequestsTransport
    from urllib3.util.retry import Retry

    session = requests.Session()
    adapter = requests.adapters.HTTPAdapter(
        pool_maxsize=max(DEFAULT_POOL, pool_size),
        max_retries=Retry(total=False, redirect=False, raise_on_status=False),  # azure-core's policy retries
    )
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return RequestsTransport(session=session, session_owner=True, **options)
