"""The one spelling of an email address that is stored, looked up and throttled: the same in every route."""

import unicodedata

from email_validator import EmailNotValidError, validate_email

from app.core.text import refused

MAX_EMAIL_LENGTH = 320


def canonical_email(raw: str) -> str | None:
    """email-validator's normalised form (Unicode NFC, an IDNA `xn--` domain as Unicode), lower-cased; None
    when `raw` is not an address at all (such a login is simply unknown)."""
    candidate = raw.strip()
    if not candidate or len(candidate) > MAX_EMAIL_LENGTH or refused(candidate):
        return None
    try:
        return validate_email(candidate, check_deliverability=False).normalized.lower()
    except EmailNotValidError:
        return None


def canonical_email_fragment(raw: str) -> str:
    """Part of an address, as the admin's search takes it, spelt as canonical emails are stored: Unicode NFC,
    lower-cased, each `xn--` label of a domain written in Unicode. So every spelling that registers an account
    also finds it."""
    text = unicodedata.normalize("NFC", raw.strip()).lower()
    return ".".join(_unicode_label(label) for label in text.split("."))


def _unicode_label(label: str) -> str:
    local, at, domain = label.rpartition("@") if "@" in label else ("", "", label)
    if not domain.startswith("xn--"):
        return label
    try:
        return f"{local}{at}{domain.encode('ascii').decode('idna')}"
    except (UnicodeError, ValueError):
        return label  # not valid punycode: searched for as typed
