"""The benchmark's figures: one phase's report, the comparison with the targets, and the printed table."""

import os

from tools.loadgen import Recorder, summary

TARGET_POST_P99_MS = 250.0
TARGET_RATIO = 1.0
TARGET_EVENTS = 45


def phase_report(
    rec: Recorder, first_call: str, count: int, wall: float, cpu: dict[str, float], **extra: object
) -> dict:
    return {
        "first_call": first_call,
        "orders": count,
        "completed": len(rec.completed),
        "incomplete": count - len(rec.completed),
        "errors": rec.errors,
        "error_samples": rec.error_samples,
        "answers": dict(sorted(rec.answers.items())),
        "first_call_ms": summary(rec.first_ms),
        "lifecycle_ms": summary(rec.lifecycle_ms),
        "wall_s": round(wall, 2),
        "per_s": round(len(rec.completed) / wall, 2) if wall > 0 else 0.0,
        "cpu_s": cpu,
        "loadavg_after": [round(v, 2) for v in os.getloadavg()],
        **extra,
    }


def compare(result: dict) -> dict:
    pizzeria, baseline = result["pizzeria"], result["baseline"]
    p99 = (pizzeria["open_loop"]["first_call_ms"] or {}).get("p99")
    ours, bare = pizzeria["closed_loop"]["per_s"], baseline["closed_loop"]["per_s"]
    ratio = round(ours / bare, 3) if bare else None
    events = max(pizzeria["history_events"], default=None)
    return {
        "lifecycles_per_s": ours,
        "baseline_workflows_per_s": bare,
        "ratio": ratio,
        "events_per_order": events,
        "baseline_events": max(baseline["history_events"], default=None),
        "targets": {
            "post_p99_ms": _target(p99, TARGET_POST_P99_MS, at_most=True),
            "ratio": _target(ratio, TARGET_RATIO, at_most=False),
            "events": _target(events, TARGET_EVENTS, at_most=True),
        },
    }


def _target(value: float | None, limit: float, at_most: bool) -> dict:
    holds = value is not None and (value <= limit if at_most else value >= limit)
    return {"value": value, "limit": limit, "holds": holds}


def _ms(figures: dict | None) -> str:
    if not figures:
        return "-"
    return " / ".join(
        f"{figures[k]:.0f}" if figures[k] >= 10 else f"{figures[k]:.1f}" for k in ("p50", "p95", "p99", "max")
    )


def _cpu(cpu: dict[str, float]) -> str:
    return "/".join(f"{cpu.get(k, 0):.1f}" for k in ("temporal", "worker", "api", "bench", "others"))


def cpu_ms_per_order(phase: dict) -> float | None:
    """What the shop's processes (Temporal, the worker, the API) spent per completed lifecycle."""
    shop = sum(phase["cpu_s"].get(k, 0.0) for k in ("temporal", "worker", "api"))
    return round(shop * 1000 / phase["completed"], 1) if phase["completed"] else None


def _events(counts: list[int]) -> str:
    return f"{max(counts)} ({', '.join(map(str, counts))})" if counts else "-"


def table(result: dict) -> str:
    cfg, pz, bl, cmp = result["config"], result["pizzeria"], result["baseline"], result["comparison"]
    po, pc, bo, bc = pz["open_loop"], pz["closed_loop"], bl["open_loop"], bl["closed_loop"]
    rows = [
        (f"open loop, {cfg['orders']} at {cfg['rate']:g}/s", "pizzeria", "bare Temporal"),
        ("  first call ms p50/p95/p99/max", f"POST {_ms(po['first_call_ms'])}", f"start {_ms(bo['first_call_ms'])}"),
        ("  lifecycle ms p50/p95/p99/max", _ms(po["lifecycle_ms"]), _ms(bo["lifecycle_ms"])),
        ("  send lag ms p50/p95/p99/max", _ms(po["send_lag_ms"]), _ms(bo["send_lag_ms"])),
        ("  errors / incomplete", f"{po['errors']} / {po['incomplete']}", f"{bo['errors']} / {bo['incomplete']}"),
        ("  wall s, all lifecycles done", f"{po['wall_s']:.1f}", f"{bo['wall_s']:.1f}"),
        (f"closed loop, {cfg['concurrency']} at a time", "", ""),
        ("  lifecycles/s", f"{pc['per_s']:.1f}", f"{bc['per_s']:.1f}"),
        ("  lifecycle ms p50/p95/p99/max", _ms(pc["lifecycle_ms"]), _ms(bc["lifecycle_ms"])),
        ("  errors / incomplete", f"{pc['errors']} / {pc['incomplete']}", f"{bc['errors']} / {bc['incomplete']}"),
        ("  CPU s temporal/worker/api/this process/others", _cpu(pc["cpu_s"]), _cpu(bc["cpu_s"])),
        ("  CPU ms per order, temporal+worker+api", f"{cpu_ms_per_order(pc)}", ""),
        ("history events (sampled)", _events(pz["history_events"]), _events(bl["history_events"])),
    ]
    if delivery := result.get("delivery"):
        dc = delivery["closed_loop"]
        rows += [
            (f"delivery by a driver, closed loop, {cfg['concurrency']} at a time", "", ""),
            ("  lifecycles/s", f"{dc['per_s']:.1f}", ""),
            ("  lifecycle ms p50/p95/p99/max", _ms(dc["lifecycle_ms"]), ""),
            ("  errors / incomplete", f"{dc['errors']} / {dc['incomplete']}", ""),
            ("  CPU s temporal/worker/api/this process/others", _cpu(dc["cpu_s"]), ""),
            ("  CPU ms per order, temporal+worker+api", f"{cpu_ms_per_order(dc)}", ""),
            ("  order history events (sampled)", _events(delivery["history_events"]), ""),
        ]
    if screens := result.get("screens"):
        so = screens["closed_loop"]
        answers = ", ".join(f"{k.removeprefix('GET ')} {v}" for k, v in screens["answers"].items())
        rows += [
            (f"closed loop again, {screens['kitchen_screens']} kitchen screens + a tracking page per order", "", ""),
            ("  lifecycles/s; errors / incomplete", f"{so['per_s']:.1f}; {so['errors']} / {so['incomplete']}", ""),
            ("  lifecycle ms p50/p95/p99/max", _ms(so["lifecycle_ms"]), ""),
            ("  CPU s temporal/worker/api/this process/others", _cpu(so["cpu_s"]), ""),
            ("  CPU ms per order, temporal+worker+api", f"{cpu_ms_per_order(so)}", ""),
            ("  live part ms p50/p95/p99/max", _ms(screens["live_part_ms"]), ""),
            ("  tracking page lag ms p50/p95/p99/max", _ms(screens["tracking_lag_ms"]), ""),
            ("  tracking pages that never saw completed", f"{screens['tracking_missed']}", ""),
            ("  live parts asked for", answers, ""),
        ]
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{r[0]:<{width}}{r[1]:<34}{r[2]}" for r in rows]
    lines.append(f"{'ratio pizzeria/bare (closed loop)':<{width}}{cmp['ratio']}")
    lines.append("(send lag: how late the load generator sent, a check on itself; 'this process' runs the load")
    lines.append(" generator and, for the bare workflow, its worker too; first calls are timed from the actual send)")
    lines.append("")
    lines.append("targets")
    labels = {
        "post_p99_ms": f"POST /api/orders p99 <= {TARGET_POST_P99_MS:g} ms at {cfg['rate']:g}/s",
        "ratio": f"lifecycles/s >= {TARGET_RATIO:g} x bare workflows/s",
        "events": f"history events per order <= {TARGET_EVENTS}",
    }
    for key, target in cmp["targets"].items():
        lines.append(f"  {labels[key]:<{width + 8}}{target['value']!s:<12}{'holds' if target['holds'] else 'MISSED'}")
    machine = result["machine"]
    lines.append("")
    lines.append(f"machine: {machine['cpus']} CPUs, load average before {machine['loadavg_before']}, "
                 f"after {machine.get('loadavg_after')}")  # fmt: skip
    return "\n".join(lines)
