"""The benchmark's latency plot (PNG): POST /api/orders latency per request over time, with its percentiles.

Top: phase A's open loop, one dot per order at the moment it was sent, the bare workflow's update-with-start
beside it for reference. Bottom: the overload run, one dot per attempt coloured by its answer (201/200 placed,
503 sent back to wait), the 10 s bound every answer should keep, and the orders placed so far. Latency is on a
log scale so that milliseconds and seconds both read. Drawn headless (matplotlib's Agg backend).

matplotlib is a development dependency: it is imported only when a plot is drawn.
"""

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.axes import Axes

PERCENTILES = (("p50", ":"), ("p95", "--"), ("p99", "-"))
ANSWER_COLOURS = {"201": "tab:green", "200": "tab:olive", "503": "tab:orange"}
OTHER_COLOUR = "tab:red"


def _percentile_lines(ax: "Axes", figures: dict | None, colour: str, label: str) -> None:
    for key, style in PERCENTILES:
        if figures and figures.get(key):
            ax.axhline(figures[key], color=colour, linestyle=style, linewidth=1,
                       label=f"{label} {key} {figures[key]:.0f} ms")  # fmt: skip


def _scatter(ax: "Axes", rows: list, colour: str, label: str) -> None:
    if rows:
        ax.scatter([r[0] for r in rows], [max(r[1], 0.1) for r in rows], s=6, alpha=0.6, color=colour, label=label)


def _open_loop(ax: "Axes", result: dict) -> None:
    cfg = result["config"]
    ours = result["pizzeria"]["open_loop"]
    bare = result.get("baseline", {}).get("open_loop") or {}
    _scatter(ax, bare.get("timeline", []), "tab:gray", "bare workflow: update-with-start")
    _scatter(ax, ours.get("timeline", []), "tab:blue", "pizzeria: POST /api/orders")
    _percentile_lines(ax, bare.get("first_call_ms"), "tab:gray", "bare")
    _percentile_lines(ax, ours.get("first_call_ms"), "tab:blue", "POST")
    ax.set_title(f"A. open loop: {cfg['orders']} pickup orders at {cfg['rate']:g}/s, each driven to completed")
    ax.set_xlabel("time the request was sent, s after the phase began")


def _overload(ax: "Axes", overload: dict) -> None:
    rows = overload.get("timeline", [])
    for answer in sorted({r[2] for r in rows}):
        colour = ANSWER_COLOURS.get(answer, OTHER_COLOUR)
        _scatter(ax, [r for r in rows if r[2] == answer], colour, f"answer {answer}")
    ax.axhline(overload["answer_bound_ms"], color="black", linewidth=1.5,
               label=f"bound {overload['answer_bound_ms'] / 1000:g} s")  # fmt: skip
    _percentile_lines(ax, overload.get("answer_ms"), "tab:purple", "all answers")
    placed = sorted(r[0] + r[1] / 1000 for r in rows if r[2] in ("200", "201"))
    if placed:
        twin = ax.twinx()
        twin.step(placed, range(1, len(placed) + 1), where="post", color="tab:brown", linewidth=1)
        twin.set_ylabel("orders placed so far", color="tab:brown")
        twin.set_ylim(0, overload["offered"] * 1.05)
    rate = overload.get("placed_per_s")
    ax.set_title(f"E. overload: {overload['offered']} orders offered at once, 503s retried after Retry-After"
                 + (f"; {rate:g} placed/s" if rate else ""))  # fmt: skip
    ax.set_xlabel("s after the phase began: each attempt when it was sent; the line, when each order was placed")


def plot(result: dict, path: Path) -> None:
    """Write the plot of `result` (the benchmark's JSON) to `path` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    overload = result.get("overload")
    figure, axes = plt.subplots(2 if overload else 1, 1, figsize=(11, 10 if overload else 5.5), squeeze=False)
    _open_loop(axes[0][0], result)
    if overload:
        _overload(axes[1][0], overload)
    for (ax,) in axes:
        ax.set_yscale("log")
        ax.set_ylabel("latency, ms (log scale)")
        ax.grid(True, which="major", alpha=0.3)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), fontsize=8, ncols=4, frameon=False)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, format="png", dpi=100)
    plt.close(figure)
