"""A fixed-window request counter per client address, kept in Django's cache.

With the default in-process cache each server process counts on its own; set CACHE_URL (e.g. Redis)
for one count across processes.
"""

import time

from django.conf import settings
from django.core.cache import cache


def client_address(request) -> str:
    """The client's IP address: behind the TLS proxy, the one the proxy appended to X-Forwarded-For."""
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None) and forwarded:
        return forwarded.split(",")[-1].strip()
    return request.META.get("REMOTE_ADDR", "")


def allow(*, scope: str, key: str, per_minute: int) -> bool:
    """Count one request for (scope, key); False once more than `per_minute` arrived this minute."""
    window = int(time.time() // 60)
    cache_key = f"ratelimit:{scope}:{key}:{window}"
    cache.add(cache_key, 0, timeout=120)
    try:
        count = cache.incr(cache_key)
    except ValueError:  # evicted between add and incr
        cache.set(cache_key, 1, timeout=120)
        count = 1
    return count <= per_minute
