"""POST a payload to a webhook with bounded timeouts, retrying 429 and 5xx with backoff (Teams and Slack
both throttle). Errors never carry the URL: webhook URLs are secrets (`mask` shows the host only)."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from requests.adapters import HTTPAdapter

from scaling.notify.formats import Payload

CONNECT_TIMEOUT = 3.05
READ_TIMEOUT = 5.0
ATTEMPTS = 4
BACKOFF = 0.5  # seconds before the second attempt, doubled each time, with jitter
MAX_WAIT = 8.0  # the longest wait between attempts, Retry-After included
RETRIED = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True)
class Delivery:
    """What happened to one POST: `ok`, the last status (None: no answer), attempts, and a masked error."""

    ok: bool
    status: int | None
    attempts: int
    error: str | None = None


@dataclass(frozen=True)
class Policy:
    connect_timeout: float = CONNECT_TIMEOUT
    read_timeout: float = READ_TIMEOUT
    attempts: int = ATTEMPTS
    backoff: float = BACKOFF
    max_wait: float = MAX_WAIT


def mask(url: str) -> str:
    """`https://hooks.slack.com/***`: enough to tell channels apart in a page or an audit row, no secret."""
    parts = urlsplit(url)
    if not parts.scheme or not parts.hostname:
        return "***"
    return f"{parts.scheme}://{parts.hostname}{':' + str(parts.port) if parts.port else ''}/***"


def session(pool: int = 32) -> requests.Session:
    """One session per process: connections to the same webhook host are reused across messages."""
    http = requests.Session()
    adapter = HTTPAdapter(pool_connections=pool, pool_maxsize=pool, max_retries=0)
    http.mount("https://", adapter)
    http.mount("http://", adapter)
    return http


def post(
    http: requests.Session,
    url: str,
    payload: Payload,
    *,
    policy: Policy = Policy(),
    sleep: Callable[[float], None] = time.sleep,
) -> Delivery:
    """POST until a 2xx, a status that is not worth retrying, or `policy.attempts` tries."""
    status: int | None = None
    error = None
    for attempt in range(1, policy.attempts + 1):
        wait = min(policy.max_wait, policy.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
        try:
            answer = http.post(
                url,
                data=payload.body,
                headers=payload.headers,
                timeout=(policy.connect_timeout, policy.read_timeout),
                allow_redirects=False,
            )
        except requests.Timeout:
            status, error = None, f"no answer within {policy.read_timeout:g} s from {mask(url)}"
        except requests.RequestException as exc:
            status, error = None, f"{type(exc).__name__} reaching {mask(url)}"
        else:
            status = answer.status_code
            answer.close()
            if 200 <= status < 300:
                return Delivery(True, status, attempt)
            error = f"HTTP {status} from {mask(url)}"
            if status not in RETRIED:
                return Delivery(False, status, attempt, error)
            wait = min(policy.max_wait, max(wait, _retry_after(answer.headers.get("Retry-After"))))
        if attempt < policy.attempts:
            sleep(wait)
    return Delivery(False, status, policy.attempts, f"{error} after {policy.attempts} attempts")


def _retry_after(value: str | None) -> float:
    if value and value.strip().isdigit():
        return float(value.strip())
    return 0.0
