"""Password reset by email: a random single-use token, stored only as its hash, mailed through the outbox.

The request (`accept`, then `send` after the answer has gone) looks the same whether or not the account exists:
the answer is given before any account is looked up, and the token, its hash and the mail are made afterwards.
Confirming spends the token, sets the password and revokes every session, in one transaction.
"""

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from app.core.emails import canonical_email
from app.core.errors import BadRequestError, MailUnavailableError, RateLimitedError
from app.core.security import hash_opaque_token, new_opaque_token
from app.models import PasswordResetToken
from app.services.outbox import Mail, Outbox
from app.services.ports import Hasher, Throttle, UnitOfWorkFactory

TOKEN_REFUSED = "The reset token is not valid: it is unknown, expired or already used. Ask for a new one."  # noqa: S105


class PasswordResetService:
    def __init__(
        self,
        uow: UnitOfWorkFactory,
        *,
        hasher: Hasher,
        throttle: Throttle,
        outbox: Outbox,
        reset_url: str,
        lifetime: timedelta,
        available: bool = True,
    ) -> None:
        """`available` is False where no mail could ever go out (production without a mail server): requests are
        refused then, rather than answered with a promise nobody keeps."""
        self._uow = uow
        self._hasher = hasher
        self._throttle = throttle
        self._outbox = outbox
        self._reset_url = reset_url
        self._lifetime = lifetime
        self._available = available

    async def accept(self, email: str) -> str:
        """Check a reset request may go ahead (429 past the per-email limit; 503 when no mail can be sent) and
        return the canonical email for `send`. Nothing here depends on whether the account exists."""
        if not self._available:
            raise MailUnavailableError("Password reset is not available: this service has no mail server.")
        address = canonical_email(email) or email.strip().lower()
        retry_after = await self._throttle.acquire(address)
        if retry_after is not None:
            raise RateLimitedError("Too many reset requests for this email; try again later.", retry_after=retry_after)
        return address

    async def send(self, address: str) -> None:
        """After the answer: for an active account, a new token and the mail with its link, in one transaction."""
        token = new_opaque_token()
        now = datetime.now(UTC)
        async with self._uow() as uow:
            user = await uow.users.get_by_email(email=address)
            if user is None or not user.is_active:
                return
            await uow.password_resets.add(
                PasswordResetToken(
                    id=uuid.uuid4(),
                    user_id=user.id,
                    token_hash=hash_opaque_token(token),
                    created_at=now,
                    expires_at=now + self._lifetime,
                )
            )
            await uow.outbox.add(self._outbox.mail_to(user.id, self._mail(token), now=now))
            await uow.commit()

    async def confirm(self, *, token: str, new_password: str) -> None:
        """Spend the token and set the password; 400 for an unknown, expired, spent or outdated token."""
        now = datetime.now(UTC)
        async with self._uow() as uow:
            found = await uow.password_resets.get(token_hash=hash_opaque_token(token))
            if found is None or found.used_at is not None or found.expires_at <= now:
                raise BadRequestError(TOKEN_REFUSED)
            token_id, user_id, issued_at = found.id, found.user_id, found.created_at
        # argon2 runs outside any transaction; the token is spent under the user's row lock below.
        new_hash = await self._hasher.hash(new_password)
        async with self._uow() as uow:
            user = await uow.users.get_for_update(user_id)
            changed_at = user.password_changed_at if user is not None else None
            if user is None or not user.is_active or (changed_at is not None and issued_at < changed_at):
                # A token older than the last password change is dead: spent, so it can never come back.
                await uow.password_resets.spend(token_id=token_id, now=now)
                await uow.commit()
                raise BadRequestError(TOKEN_REFUSED)
            if not await uow.password_resets.spend(token_id=token_id, now=now):  # spent meanwhile
                raise BadRequestError(TOKEN_REFUSED)
            user.password_hash, user.password_changed_at = new_hash, now
            await uow.login_sessions.revoke_all_for_user(user_id=user.id, now=now, reason="password-reset")
            await uow.password_resets.spend_all_for_user(user_id=user.id, now=now)
            await uow.commit()

    def _mail(self, token: str) -> Mail:
        separator = "&" if "?" in self._reset_url else "?"
        link = f"{self._reset_url}{separator}{urlencode({'token': token})}"
        minutes = int(self._lifetime.total_seconds() // 60)
        text = (
            "Someone asked to reset the password of your account. To choose a new one, open this link:\n\n"
            f"{link}\n\n"
            f"The link works once, for {minutes} minutes. If you did not ask for it, ignore this mail: your password "
            "stays as it is.\n"
        )
        return Mail(kind="password_reset", subject="Reset your password", text=text)
