"""The one spelling of an email address that is stored, looked up and throttled: the same in every route."""

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

