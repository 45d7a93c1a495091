"""Staff passwords as argon2 hashes (pwdlib's recommended parameters), made and checked in worker threads.

Hashing is slow and takes memory on purpose (64 MiB each with argon2's defaults), so a process hashes only a few
at a time: a flood of sign-ins waits its turn instead of taking the machine's memory.
"""

import asyncio
import secrets

from fastapi.concurrency import run_in_threadpool
from pwdlib import PasswordHash

HASHES_AT_ONCE = 4


class Passwords:
    def __init__(self, hasher: PasswordHash | None = None, at_once: int = HASHES_AT_ONCE) -> None:
        self._hasher = hasher or PasswordHash.recommended()
        self._slots = asyncio.Semaphore(at_once)
        self._stand_in: str | None = None

    def hash_now(self, password: str) -> str:
        """A new salted hash of `password`, made in this thread (for command-line tools)."""
        return self._hasher.hash(password)

    async def hash(self, password: str) -> str:
        """A new salted hash of `password`."""
        async with self._slots:
            return await run_in_threadpool(self._hasher.hash, password)

    async def verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        """Whether `password` matches `password_hash`, and a new hash of it when the one kept was made with older
        parameters. Without a hash (no such account) it checks against a stand-in all the same, so that an
        unknown username takes as long to refuse as a known one."""
        async with self._slots:
            return await run_in_threadpool(self._verify, password, password_hash)

    def _verify(self, password: str, password_hash: str | None) -> tuple[bool, str | None]:
        # As bytes: a lone surrogate (which no kept password has) is checked and refused, not an error.
        typed = password.encode("utf-8", "surrogatepass")
        if password_hash is None:
            self._hasher.verify(typed, self._stand_in_hash())
            return False, None
        return self._hasher.verify_and_update(typed, password_hash)

    def _stand_in_hash(self) -> str:
        if self._stand_in is None:
            self._stand_in = self._hasher.hash(secrets.token_urlsafe(32))
        return self._stand_in
