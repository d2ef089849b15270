"""URL canonicalisation: one article, one URL, whatever tracking junk a feed appends.

The canonical URL identifies an article across feeds (the same story syndicated by two feeds is stored once),
so the rules must be idempotent and must never merge two different articles: only parameters that are
tracking by convention are dropped, never one that might be an article id (`id`, `p`, `cid`, `story`...).
"""

from __future__ import annotations

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
