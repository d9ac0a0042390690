"""Logs never carry a full phone, e-mail or secret."""

from __future__ import annotations

import json

import pytest
import structlog

from gateway.logs import bound, configure_logging, mask_email, mask_phone, mask_text


@pytest.fixture(autouse=True)
def _reset_structlog() -> object:
    yield None
    structlog.reset_defaults()


def test_masks() -> None:
    assert mask_phone("+79161234567") == "+7916***4567"
    assert mask_email("ivan@example.com") == "i***@example.com"
    assert "1234567" not in mask_text("звоните 8 (916) 123-45-67")


def test_json_log_masks_fields_and_secrets(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    structlog.get_logger("t").info("lead.routed", phone="+79161234567", email="ivan@example.com",
                                   api_token="lg_secret", data={"password": "p", "text": "mail me ivan@example.com"})
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["phone"] == "+7916***4567"
    assert line["email"] == "i***@example.com"
    assert line["api_token"] == "***"
    assert line["data"]["password"] == "***"
    assert "ivan@example.com" not in json.dumps(line)


def test_json_log_keeps_our_identifiers_and_still_masks_the_rest(capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("json")
    event_id = "123456789012345678901234"  # hex digits only, as one id in a million is
    structlog.get_logger("t").info("lead.routed", event_id=event_id, status="attached", lead_id=7,
                                   message_id=event_id, note="звоните +7 916 123-45-67")
    line = json.loads(capsys.readouterr().err.strip().splitlines()[-1])
    assert line["event_id"] == event_id
    assert line["status"] == "attached"
    assert line["lead_id"] == 7
    assert line["message_id"] != event_id  # not ours: masked like any text
    assert "123-45-67" not in line["note"]


def test_bound_puts_back_what_it_replaced() -> None:
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(connector="mango")
    with bound(connector="imap", event_id="e1"):
        assert structlog.contextvars.get_contextvars() == {"connector": "imap", "event_id": "e1"}
    assert structlog.contextvars.get_contextvars() == {"connector": "mango"}
    structlog.contextvars.clear_contextvars()
