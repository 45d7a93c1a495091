"""Staff sign-in rules: what a username may be, and when failed sign-ins lock one out.

After `max_failures` failed sign-ins for one username within `window`, every sign-in for it is refused, the
right password too, until enough of those failures are older than the window.
"""

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

USERNAME = re.compile(r"[a-z0-9._-]{3,40}")
MIN_PASSWORD, MAX_PASSWORD = 12, 1024  # bounded: each sign-in hashes what it is given
KITCHEN_PAGE, DRIVER_PAGE = "/kitchen", "/driver"


@dataclass(frozen=True)
class Lockout:
    max_failures: int = 5
    window: timedelta = timedelta(minutes=5)

    def retry_after(self, failures: Sequence[datetime], now: datetime) -> int | None:
        """Whole seconds until this username may try again (at least 1), or None when it may try now."""
        recent = sorted(moment for moment in failures if moment > now - self.window)
        if len(recent) < self.max_failures:
            return None
        # Free again once the failure that keeps the count at the limit leaves the window.
        frees_at = recent[len(recent) - self.max_failures] + self.window
        return max(1, math.ceil((frees_at - now).total_seconds()))


def sign_in_name(typed: str) -> str:
    """The username as accounts hold it: phones capitalise a first letter and keyboards add spaces.

    A character no username has and no database column can hold (NUL and the other control characters, a lone
    surrogate) becomes U+FFFD: such a name is no account's, and its failures are still counted.
    """
    name = typed.strip().lower()
    return "".join("\ufffd" if unicodedata.category(c) in ("Cc", "Cs") else c for c in name)


def landing_page(roles: frozenset[str]) -> str:
    """Where a staff member goes after signing in without asking for a page: the kitchen for the kitchen and
    managers, the driver page for drivers."""
    return DRIVER_PAGE if "driver" in roles and not roles & {"kitchen", "manager"} else KITCHEN_PAGE


def local_path(target: str) -> bool:
    """Whether `target` is a path of this site to go on to after signing in (never another site's address:
    `//host`, `/\\host`, or anything a browser would read past a control character or a space)."""
    return (
        target.startswith("/")
        and not target.startswith(("//", "/\\"))
        and not any(c.isspace() or ord(c) < 0x20 or ord(c) == 0x7F for c in target)
    )
