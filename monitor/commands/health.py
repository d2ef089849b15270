"""`monitor health`: ask a running daemon's /healthz (or /readyz); the exit code is the answer.

Meant for container health checks, so it must not depend on the whole configuration being valid: an
invalid edit leaves the daemon running on its previous configuration, and it is still healthy. Only
the listen address is read: --address, else MONITOR_HTTP_LISTEN, else monitor.yaml's http.listen.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

import yaml
from pydantic import ValidationError

from monitor.config import HttpSettings

_ANY = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}  # noqa: S104 (these are what we map away from)


def listen_address(config_dir: Path, override: str | None = None) -> tuple[str, int]:
    listen = override or os.environ.get("MONITOR_HTTP_LISTEN")
    if not listen:
        try:
            data = yaml.safe_load((config_dir / "monitor.yaml").read_text(encoding="utf-8")) or {}
            listen = str(data.get("http", {}).get("listen") or "")
        except (OSError, yaml.YAMLError, AttributeError):
            listen = ""
    try:
        host, port = HttpSettings(listen=listen, enabled=False).address if listen else HttpSettings().address
    except ValidationError:
        host, port = HttpSettings().address
    return _ANY.get(host, host), port


def probe(host: str, port: int, path: str, timeout: float = 5.0) -> tuple[int | None, str]:
    """(HTTP status or None if nothing answered, body or reason)."""
    netloc = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        with urllib.request.urlopen(f"http://{netloc}{path}", timeout=timeout) as resp:
            return int(resp.status), resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace")
    except (urllib.error.URLError, OSError) as exc:
        return None, f"no answer from {netloc}: {getattr(exc, 'reason', exc)}"
