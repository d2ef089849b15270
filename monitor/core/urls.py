"""URL canonicalisation: one article, one URL, whatever tracking junk a feed appends; and which addresses are
on the public internet (what a feed's redirect may lead the fetcher to, issue 16).

The canonical URL identifies an article across feeds (the same story syndicated by two feeds is stored once),
so the rules must be idempotent and must never merge two different articles: only parameters that are
tracking by convention are dropped, never one that might be an article id (`id`, `p`, `cid`, `story`...).
"""

from __future__ import annotations

import ipaddress
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_TRACKING_PREFIXES = ("utm_", "mc_", "pk_", "piwik_", "ga_", "itm_", "at_", "hsa_", "oly_")
_TRACKING_KEYS = frozenset({
    "fbclid", "gclid", "gclsrc", "dclid", "msclkid", "yclid", "igshid", "twclid", "ttclid", "wbraid", "gbraid",
    "_ga", "_gl", "_hsenc", "_hsmi", "mkt_tok", "ocid", "cmpid", "ncid", "xtor", "smid", "spm", "sr_share",
    "ref", "ref_src", "ref_url", "rss", "rssfeed", "feedtype", "cmp", "__twitter_impression",
})


def canonical_url(url: str) -> str:
    """Lower-case scheme and host without `www.`, no default port, credentials, fragment, trailing slash or
    tracking parameters; the remaining query sorted. Non-HTTP(S) and unparseable input comes back stripped."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
        port = parts.port
    except ValueError:
        return url
    while host.startswith("www."):
        host = host[4:]
    if parts.scheme not in ("http", "https") or not host:
        return url
    if ":" in host:  # IPv6 literal: brackets were removed by hostname
        host = f"[{host}]"
    if port and port != {"http": 80, "https": 443}[parts.scheme]:
        host = f"{host}:{port}"
    query = sorted((k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)
                   if not _is_tracking(k))
    path = parts.path.rstrip("/") or "/"
    return urlunsplit((parts.scheme, host, path, urlencode(query), ""))


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key.startswith(_TRACKING_PREFIXES) or key in _TRACKING_KEYS


def is_article_url(canonical: str) -> bool:
    """A site's front page (no path, no query) is where feeds point items that have no page of their own:
    it identifies no article, so it must not be used to drop items as duplicates."""
    try:
        parts = urlsplit(canonical)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and (parts.path not in ("", "/") or bool(parts.query))


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # the well-known prefix: the last 32 bits are an IPv4 address


def is_public_address(address: str) -> bool:
    """True for an address on the public internet; False for loopback, private, link-local (cloud metadata at
    169.254.169.254), shared (CGNAT 100.64/10), multicast, reserved, unspecified (0.0.0.0/8, ::), documentation
    and benchmarking ranges, and for an IPv6 address that carries such an IPv4 address (mapped ::ffff:a.b.c.d,
    NAT64, 6to4). Anything that is not an IP address is not public."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])  # fe80::1%eth0: the zone is no part of the address
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
        if ip.is_site_local:  # deprecated, but still not the internet (and not in is_private)
            return False
    return ip.is_global and not ip.is_multicast and not ip.is_reserved


def is_localhost_name(host: str) -> bool:
    """`localhost` and `*.localhost` name this machine whatever DNS says (RFC 6761)."""
    host = host.rstrip(".").lower()
    return host == "localhost" or host.endswith(".localhost")


def is_loopback_host(host: str) -> bool:
    """A listen or URL host that can only mean this machine: a localhost name or a loopback address."""
    if is_localhost_name(host):
        return True
    try:
        ip = ipaddress.ip_address(host.strip("[]").split("%", 1)[0])
    except ValueError:
        return False
    mapped = ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else None
    return (mapped or ip).is_loopback
