"""The mail as it goes on the wire: what a mail reader parses back out of it, in the plain and the encoded case."""

from email import message_from_bytes, policy

import pytest

from app.core.mail import _plain_message

CASES = {
    "ascii": ("Your order 42", "Thank you.\n\n  2 x Teapot (TEA-1) at 24.99 USD\n"),
    "text outside ascii": ("Your order 42", "Danke für Ihre Bestellung.\n  1 x Tasse (T-1)\n"),
    "subject outside ascii": ("Ihre Bestellung für 42", "Thank you.\n"),
    "a line too long to send as it is": ("Your order 42", "x" * 1200 + "\nend\n"),
    "a subject that would start a header": ("Your order\r\nBcc: someone@example.com", "Thank you.\n"),
}


@pytest.mark.parametrize("subject, text", CASES.values(), ids=CASES.keys())
def test_a_reader_gets_back_the_subject_text_and_headers(subject, text):
    raw = _plain_message("orders@shop.test", "ann@example.com", subject, text, "<id-1@shop.test>")

    message = message_from_bytes(raw, policy=policy.default)
    assert message["From"] == "orders@shop.test" and message["To"] == "ann@example.com"
    assert message["Message-ID"] == "<id-1@shop.test>" and message["Date"] is not None
    assert message["Bcc"] is None
    assert message.get_content_type() == "text/plain"
    assert message.get_content().replace("\r\n", "\n") == text
    assert message["Subject"] == " ".join(subject.splitlines())


def test_the_common_case_is_seven_bit_with_crlf_line_ends():
    raw = _plain_message("orders@shop.test", "ann@example.com", "Your order 42", "a\nb\n", "<id-1@shop.test>")

    assert raw.isascii() and b"\r\n\r\na\r\nb\r\n" in raw and b"\n" not in raw.replace(b"\r\n", b"")
    assert b"Content-Transfer-Encoding: 7bit" in raw
