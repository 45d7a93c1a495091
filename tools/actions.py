"""Temporal actions, as the dev server's own Prometheus counter `action{action_type=...}` counts them.

Actions are what Temporal Cloud bills and rate-limits per namespace (docs.temporal.io/cloud/actions): a
workflow started, a timer, an activity scheduled, an update accepted, a query, a search-attribute upsert,
local activities once per workflow task that ran any (its marker batch). The counter is read before and
after a phase whose workflows have all closed; the difference, divided by the orders, is actions per order.
It counts one thing Cloud does not bill: the upsert of TemporalChangeVersion that `workflow.patched` makes.
"""

import asyncio
import re
import urllib.request
from collections import Counter

ACTION_LINE = re.compile(r"^action\{(?P<labels>[^}]*)\}\s+(?P<value>[0-9.eE+-]+)\s*$")
SETTLE_SECONDS = 1.2  # the dev server publishes what it counted once a second
SETTLE_READS = 10
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def parse_actions(text: str, namespace: str) -> Counter[str]:
    """The counter's values in `namespace` by action_type, from Prometheus' text format."""
    counts: Counter[str] = Counter()
    for line in text.splitlines():
        if (found := ACTION_LINE.match(line)) is None:
            continue
        labels = dict(LABEL.findall(found["labels"]))
        if labels.get("namespace") == namespace:
            counts[labels.get("action_type", "?")] += round(float(found["value"]))
    return counts


def per_order(before: Counter[str], after: Counter[str], count: int) -> dict:
    """Actions per order (or per request) between two reads, `count` of them: the total and by action_type."""
    delta = {kind: after[kind] - before[kind] for kind in after if after[kind] != before[kind]}
    if count <= 0:
        return {"count": count, "total": None, "by_type": {}}
    return {
        "count": count,
        "total": round(sum(delta.values()) / count, 2),
        "by_type": {kind: round(n / count, 2) for kind, n in sorted(delta.items())},
    }


class Actions:
    """Reads the counter of one namespace from a dev server's --metrics-port."""

    def __init__(self, metrics_port: int, namespace: str = "default") -> None:
        self.url = f"http://127.0.0.1:{metrics_port}/metrics"
        self.namespace = namespace

    def _read(self) -> Counter[str]:
        with urllib.request.urlopen(self.url, timeout=10) as got:
            return parse_actions(got.read().decode(), self.namespace)

    async def read(self) -> Counter[str]:
        """The counter once it has stopped moving: the server may publish what it counted a moment later."""
        now = await asyncio.to_thread(self._read)
        for _ in range(SETTLE_READS):
            await asyncio.sleep(SETTLE_SECONDS)
            now, before = await asyncio.to_thread(self._read), now
            if now == before:
                break
        return now
