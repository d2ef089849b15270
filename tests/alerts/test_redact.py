"""Secrets never leave: registered channel URLs and their private parts, and common shapes in any text."""

from __future__ import annotations

import pytest

from alerts.redact import redact
from alerts.sender import Sender


@pytest.mark.parametrize(("text", "secret"), [
    ("posting to https://hooks.slack.com/services/T000/B000/XXXXSECRET failed", "XXXXSECRET"),
    ("slack://T000AAA/B000BBB/SECRETTOKEN123", "SECRETTOKEN123"),
    ("mailtos://user:hunter2pass@smtp.example.org?to=a@b.org", "hunter2pass"),
    ("json://admin:s3cr3tpw@127.0.0.1:8080/hook", "s3cr3tpw"),
    ("Bearer xoxb-1234-5678-abcdefSECRET", "abcdefSECRET"),
    ("https://api.example.org/x?token=abc123SECRET&x=1", "abc123SECRET"),
    ("https://discord.com/api/webhooks/123456789/WEBHOOKSECRET", "WEBHOOKSECRET"),
])
def test_patterns_mask_common_secret_shapes(text: str, secret: str) -> None:
    assert secret not in redact(text)


def test_configured_urls_mask_their_private_parts_anywhere() -> None:
    url = "tgram://123456789:AAHsecretBotToken/987654321"
    Sender({"tg": [url], "discord": ["discord://4174216298/JHMHI8qBe7bk2ZwO5U711o3dV_js"]})
    assert "AAHsecretBotToken" not in redact(f"error posting {url}")
    assert "AAHsecretBotToken" not in redact("token AAHsecretBotToken leaked in an exception")
    assert "JHMHI8qBe7bk2ZwO5U711o3dV_js" not in redact("discord said no to JHMHI8qBe7bk2ZwO5U711o3dV_js")
    assert redact("nothing secret here") == "nothing secret here"
