"""The benchmark's figures: one phase's report, the comparison with the targets, and the printed table."""

import os

from tools.bare_workflow import CHANGE_VERSION_UPSERT, MARKER_TASKS
from tools.loadgen import Recorder, summary
from tools.overload import ANSWER_BOUND_MS

TARGET_POST_P99_MS = 250.0
TARGET_CPU_MS = 50.0  # per completed pickup order, Temporal + worker + API: two cores then take 40 orders/s
TARGET_EVENTS = 41
TARGET_ACTIONS = 10.0  # per pickup order: one namespace (500 actions/s) carries 50 orders/s
TARGET_OVERLOAD_PER_S = 20.0
SHAPE_EVENTS = {  # the history's events the bare workflow copies from the saga (tools.bare_workflow.event_kinds)
    "EVENT_TYPE_MARKER_RECORDED core_local_activity": "local activities",
    "EVENT_TYPE_MARKER_RECORDED core_patch": "workflow.patched markers",
    "EVENT_TYPE_ACTIVITY_TASK_SCHEDULED": "activities",
    "EVENT_TYPE_TIMER_STARTED": "timers",
    "EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED": "updates",
    "EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES": "search attribute upserts",
    CHANGE_VERSION_UPSERT: "  of which TemporalChangeVersion",
    "EVENT_TYPE_WORKFLOW_TASK_COMPLETED": "workflow tasks",
    MARKER_TASKS: "  of which recorded markers",
}


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
    actions = (pizzeria["closed_loop"].get("actions_per_order") or {}).get("total")
    targets = {
        "post_p99_ms": _target(p99, TARGET_POST_P99_MS, at_most=True),
        "cpu_ms": _target(cpu_ms_per_order(pizzeria["closed_loop"]), TARGET_CPU_MS, at_most=True),
        "events": _target(events, TARGET_EVENTS, at_most=True),
        "actions": _target(actions, TARGET_ACTIONS, at_most=True),
    }
    if overload := result.get("overload"):
        targets |= {
            "overload_answer_max_ms": _target((overload["answer_ms"] or {}).get("max"), overload["answer_bound_ms"],
                                              at_most=True),
            "overload_per_s": _target(overload["placed_per_s"], TARGET_OVERLOAD_PER_S, at_most=False),
            "overload_lost": _target(overload["lost"], 0, at_most=True),
            "overload_not_charged_once": _target(_not_charged_once(overload), 0, at_most=True),
        }  # fmt: skip
    return {
        "lifecycles_per_s": ours,
        "baseline_workflows_per_s": bare,
        "ratio": ratio,
        "events_per_order": events,
        "baseline_events": max(baseline["history_events"], default=None),
        "cpu_ms_per_order": cpu_ms_per_order(pizzeria["closed_loop"]),
        "baseline_cpu_ms_per_order": cpu_ms_per_order(baseline["closed_loop"], ("temporal", "bench")),
        "actions_per_order": actions,
        # What Temporal Cloud would bill: the metric's figure less the upserts of `workflow.patched` it counts.
        "billed_actions_per_order": None
        if actions is None
        else actions - pizzeria["history_shape"].get(CHANGE_VERSION_UPSERT, 0),
        "baseline_actions": (baseline["closed_loop"].get("actions_per_order") or {}).get("total"),
        "targets": targets,
    }


def _not_charged_once(overload: dict) -> int | None:
    """Placed orders without a payment of their own in the store: stored with none, not stored, or sharing one."""
    charges = overload["charges"]
    if not charges.get("checked"):
        return None
    return overload["distinct_orders"] - min(charges["with_payment"], charges["distinct_payments"])


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


def cpu_ms_per_order(phase: dict, processes: tuple[str, ...] = ("temporal", "worker", "api")) -> float | None:
    """What the shop's processes (Temporal, the worker, the API) spent per completed lifecycle."""
    shop = sum(phase["cpu_s"].get(k, 0.0) for k in processes)
    return round(shop * 1000 / phase["completed"], 1) if phase["completed"] else None


def _events(counts: list[int]) -> str:
    return f"{max(counts)} ({', '.join(map(str, counts))})" if counts else "-"


def _types(figures: dict) -> str:
    return "(" + ", ".join(f"{kind} {n:g}" for kind, n in figures["by_type"].items()) + ")"


def _shape_rows(ours: dict[str, int], bare: dict[str, int]) -> list[tuple[str, str, str]]:
    return [(f"  {label}", f"{ours.get(kind, 0)}", f"{bare.get(kind, 0)}") for kind, label in SHAPE_EVENTS.items()]


def _action_rows(
    ours: dict | None, bare: dict | None, title: str = "Temporal actions per order (closed loop)"
) -> list[tuple[str, str, str]]:
    if not ours:
        return []
    kinds = sorted({*ours["by_type"], *(bare or {}).get("by_type", {})})
    rows = [(title, f"{ours['total']}", f"{bare['total']}" if bare else "")]
    for kind in kinds:
        theirs = f"{bare['by_type'].get(kind, 0):g}" if bare else ""
        rows.append((f"    {kind}", f"{ours['by_type'].get(kind, 0):g}", theirs))
    return rows


def _overload_rows(overload: dict) -> list[tuple[str, str, str]]:
    shed, charges = overload["shed_503_ms"], overload["charges"]
    answers = ", ".join(f"{k} {v}" for k, v in overload["answers"].items())
    placed_all, per_s, placed = overload["placed_all_s"], overload["placed_per_s"], overload["keys_placed"]
    charged = (f"{charges['with_payment']} with a payment, {charges['distinct_payments']} distinct"
               if charges.get("checked") else charges.get("why", "-"))  # fmt: skip
    return [
        (f"E. overload, {overload['offered']} orders at once (503: wait Retry-After, repeat)", "", ""),
        ("  every attempt's answer ms p50/p95/p99/max", _ms(overload["answer_ms"]), ""),
        ("  attempts: answers", f"{overload['attempts']}: {answers}", ""),
        (f"  answered within {overload['answer_bound_ms'] / 1000:g} s", f"{overload['answered_within_bound']}", ""),
        ("  503s: answered in ms p50/max", f"{shed['n']}: {shed['p50']:g} / {shed['max']:g}" if shed else "0", ""),
        ("  all placed after s; placed/s", f"{'not all' if placed_all is None else placed_all}; {per_s}", ""),
        ("  keys placed; distinct orders; lost", f"{placed}; {overload['distinct_orders']}; {overload['lost']}", ""),
        ("  charged once (the shop's database)", charged, ""),
        ("  CPU s temporal/worker/api/this process/others", _cpu(overload["cpu_s"]), ""),
        ("  the orders placed", overload["orders_left"], ""),
    ]


def table(result: dict) -> str:
    cfg, pz, bl, cmp = result["config"], result["pizzeria"], result["baseline"], result["comparison"]
    po, pc, bo, bc = pz["open_loop"], pz["closed_loop"], bl["open_loop"], bl["closed_loop"]
    bare_cpu = f"{cpu_ms_per_order(bc, ('temporal', 'bench'))}"  # its worker runs in this process
    rows = [
        (f"open loop, {cfg['orders']} at {cfg['rate']:g}/s", "pizzeria", "bare Temporal"),
        ("  first call ms p50/p95/p99/max", f"POST {_ms(po['first_call_ms'])}", f"UwS {_ms(bo['first_call_ms'])}"),
        ("  lifecycle ms p50/p95/p99/max", _ms(po["lifecycle_ms"]), _ms(bo["lifecycle_ms"])),
        ("  send lag ms p50/p95/p99/max", _ms(po["send_lag_ms"]), _ms(bo["send_lag_ms"])),
        ("  errors / incomplete", f"{po['errors']} / {po['incomplete']}", f"{bo['errors']} / {bo['incomplete']}"),
        ("  wall s, all lifecycles done", f"{po['wall_s']:.1f}", f"{bo['wall_s']:.1f}"),
        (f"closed loop, {cfg['concurrency']} at a time", "", ""),
        ("  lifecycles/s", f"{pc['per_s']:.1f}", f"{bc['per_s']:.1f}"),
        ("  lifecycle ms p50/p95/p99/max", _ms(pc["lifecycle_ms"]), _ms(bc["lifecycle_ms"])),
        ("  errors / incomplete", f"{pc['errors']} / {pc['incomplete']}", f"{bc['errors']} / {bc['incomplete']}"),
        ("  CPU s temporal/worker/api/this process/others", _cpu(pc["cpu_s"]), _cpu(bc["cpu_s"])),
        ("  CPU ms per order, temporal+worker+api (bare: temporal+this process)", f"{cpu_ms_per_order(pc)}", bare_cpu),
        ("history events (sampled)", _events(pz["history_events"]), _events(bl["history_events"])),
        *_shape_rows(pz.get("history_shape", {}), bl.get("history_shape", {})),
        *_action_rows(pc.get("actions_per_order"), bc.get("actions_per_order")),
    ]
    rows.append(("  less TemporalChangeVersion upserts (Cloud's bill)", f"{cmp['billed_actions_per_order']}", ""))
    if per_get := pz.get("actions_per_get"):
        rows.append(("  actions per GET of a running order", f"{per_get['total']} {_types(per_get)}", ""))
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
            *_action_rows(dc.get("actions_per_order"), None, "  Temporal actions per order, with its delivery"),
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
    if overload := result.get("overload"):
        rows += _overload_rows(overload)
    width = max(len(r[0]) for r in rows) + 2
    lines = [f"{r[0]:<{width}}{r[1]:<34}{r[2]}" for r in rows]
    lines.append(f"{'ratio pizzeria/bare (closed loop)':<{width}}{cmp['ratio']}")
    lines.append("(send lag: how late the load generator sent, a check on itself; 'this process' runs the load")
    lines.append(" generator and, for the bare workflow, its worker too; first calls are timed from the actual send;")
    lines.append(" UwS: the bare workflow's update-with-start, answered once placed, as POST /api/orders is;")
    lines.append(" actions: the dev server's `action` counter from before a closed loop to after its workflows")
    lines.append(" closed, per completed order; it counts the TemporalChangeVersion upserts of `workflow.patched`")
    lines.append(" that Temporal Cloud does not bill (docs.temporal.io/cloud/actions): they are among")
    lines.append(" command_UpsertWorkflowSearchAttributes; local activities count once per workflow task that ran")
    lines.append(" any, as command_BatchMarkers)")
    lines.append("")
    lines.append("targets")
    labels = {
        "post_p99_ms": f"POST /api/orders p99 <= {TARGET_POST_P99_MS:g} ms at {cfg['rate']:g}/s",
        "cpu_ms": f"CPU ms per pickup order (Temporal + worker + API) <= {TARGET_CPU_MS:g}",
        "events": f"history events per order <= {TARGET_EVENTS}",
        "actions": f"Temporal actions per pickup order <= {TARGET_ACTIONS:g}",
        "overload_answer_max_ms": f"overload: slowest answer <= {ANSWER_BOUND_MS:g} ms",
        "overload_per_s": f"overload: orders placed/s >= {TARGET_OVERLOAD_PER_S:g}",
        "overload_lost": "overload: orders lost",
        "overload_not_charged_once": "overload: orders not charged exactly once",
    }
    for key, target in cmp["targets"].items():
        lines.append(f"  {labels[key]:<{width + 8}}{target['value']!s:<12}{'holds' if target['holds'] else 'MISSED'}")
    machine = result["machine"]
    lines.append("")
    lines.append(f"machine: {machine['cpus']} CPUs, load average before {machine['loadavg_before']}, "
                 f"after {machine.get('loadavg_after')}")  # fmt: skip
    return "\n".join(lines)
