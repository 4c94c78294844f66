"""The harness's outputs: the terminal table, the JSON file, the chart and the Markdown summary."""

from __future__ import annotations

import json
import os
import platform
import sys
import sysconfig
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, TextIO

from benchmarks.timing import Row

PACKAGES = (
    "cryptography",
    "aws-lambda-powertools",
    "boto3",
    "requests",
    "urllib3",
    "orjson",
    "okta-jwt-verifier",
    "PyJWT",
)


def describe_machine() -> dict[str, Any]:
    """CPU model, cores, Python and the versions of the packages measured."""
    versions: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "cpu": describe_cpu(),
        "cores": os.cpu_count(),
        "python": sys.version.split()[0],
        "python_build": describe_python_build(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
        "packages": versions,
    }


def describe_cpu(cpuinfo: Path = Path("/proc/cpuinfo")) -> str:
    """The CPU's model name and its generation (x86 family/model, Arm implementer/part)."""
    # Cloud VMs often report a bare "AMD EPYC": two hosts under that one name gave the decision
    # core 2.04x and 1.67x the bare RS256 check (benchmarks/README.md, "Sixth pass").
    try:
        lines = cpuinfo.read_text(encoding="utf-8").splitlines()
    except OSError:
        return platform.processor() or "unknown"
    fields: dict[str, str] = {}
    for line in lines:
        if not line.strip():
            break  # the first processor's block describes them all
        name, _, value = line.partition(":")
        fields.setdefault(name.strip(), value.strip())
    model = fields.get("model name") or fields.get("Hardware") or "unknown"
    if "cpu family" in fields:
        return f"{model} (family {fields['cpu family']}, model {fields.get('model', '?')})"
    if "CPU part" in fields:
        implementer = fields.get("CPU implementer", "?")
        return f"{model} (implementer {implementer}, part {fields['CPU part']})"
    return model


def describe_python_build(maps: Path = Path("/proc/self/maps")) -> str:
    """How this CPython was built: the Python-heavy rows move by 15-20% with it, RSA does not."""
    # A shared libpython (pyenv's and, judging by /var/lang/lib/libpython3.*.so, Lambda's) is
    # compiled position-independent and calls into itself through the PLT; a PGO/LTO build such
    # as Debian's static /usr/bin/python3.11 runs the same code faster (benchmarks/README.md).
    try:
        shared = "libpython" in maps.read_text(encoding="utf-8")
    except OSError:
        shared = bool(sysconfig.get_config_var("Py_ENABLE_SHARED"))
    configure = str(sysconfig.get_config_var("CONFIG_ARGS") or "")
    flags = [flag for flag in ("--enable-optimizations", "--with-lto") if flag in configure]
    linked = "libpython shared" if shared else "libpython linked in"
    built = " ".join(flags) if flags else "neither --enable-optimizations nor --with-lto"
    return f"{linked}; configured with {built}"


def summarize(rows: Sequence[Row]) -> list[dict[str, Any]]:
    """Row summaries with ratios to the first row (the bare RS256 check)."""
    base = rows[0].summary(None).get("median_us") if rows and rows[0].samples_ns else None
    base_ns = base * 1000 if base else None
    return [row.summary(base_ns) for row in rows]


def _fmt(value: Any, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def latency_lines(summaries: Sequence[dict[str, Any]]) -> Sequence[tuple[str, ...]]:
    """Table cells for the latency rows."""
    lines = [("row", "what", "n", "median us", "p99 us", "x bare (median)", "x bare (p99)")]
    for item in summaries:
        if item["status"] != "ok":
            lines.append((item["name"], item["title"], "-", item["status"], "-", "-", "-"))
            continue
        lines.append(
            (
                item["name"],
                item["title"],
                str(item["n"]),
                _fmt(item["median_us"]),
                _fmt(item["p99_us"]),
                _fmt(item["ratio_median"], 2),
                _fmt(item["ratio_p99"], 2),
            )
        )
    return lines


def other_lines(results: dict[str, Any]) -> Sequence[tuple[str, ...]]:
    """Table cells for cold start, memory and the random-kid flood."""
    lines = [("measure", "authorizer", "reference", "ratio / note")]
    cold = results.get("cold_start")
    if cold:
        auth, base = cold["authorizer"], cold["baseline"]
        lines.append(
            (
                f"cold start, import + 1st decision (ms, median of {cold['runs']})",
                _fmt(auth["total_ms"]),
                f"{_fmt(base['total_ms'])} (import boto3 + SSM client)",
                f"{cold['ratio_total']:.2f}x",
            )
        )
        lines.append(
            (
                "cold start, whole process wall time (ms)",
                _fmt(auth["wall_ms"]),
                _fmt(base["wall_ms"]),
                f"{cold['ratio_wall']:.2f}x",
            )
        )
        lines.append(
            (
                "  of which: import / first decision (ms)",
                f"{_fmt(auth['import_ms'])} / {_fmt(auth['first_decision_ms'])}",
                f"{_fmt(base['import_ms'])} / {_fmt(base['client_ms'])} (import / client)",
                "",
            )
        )
        restored = cold.get("restored")
        if restored:
            lines.append(
                (
                    "SnapStart simulated: restore hook + 1st decision (ms)",
                    _fmt(restored["total_ms"]),
                    f"{_fmt(auth['total_ms'])} (import + 1st decision)",
                    f"{cold['ratio_restored']:.2f}x",
                )
            )
        if "keys_requests_per_start" in cold:
            lines.append(
                (
                    "  key-set requests per cold start",
                    _fmt(cold["keys_requests_per_start"], 2),
                    "1 expected",
                    "",
                )
            )
    memory = results.get("memory")
    if memory:
        lines.append(
            (
                f"RSS after {memory['invocations']:,} distinct tokens (MiB, now / peak)",
                f"{memory['after']['rss_mb']:.1f} / {memory['after']['peak_rss_mb']:.1f}",
                f"Lambda size {memory['lambda_mb']} MB",
                f"before: {memory['before']['rss_mb']:.1f} / "
                f"{memory['before']['peak_rss_mb']:.1f}; "
                f"growth {memory['growth_mb']:+.1f}",
            )
        )
        lines.append(
            (
                "  ru_maxrss after (MiB)",
                f"{memory['after']['ru_maxrss_mb']:.1f}",
                f"inherited at fork: {memory['ru_maxrss_inherited_mb']:.1f}",
                "Linux keeps the parent's peak across fork+exec",
            )
        )
        trail = ", ".join(f"{c['invocations']:,}: {c['rss_mb']:.1f}" for c in memory["checkpoints"])
        lines.append(("  RSS along the way (MiB)", trail, "", ""))
    flood = results.get("jwks_flood")
    if flood:
        lines.append(
            (
                f"key-set requests during {flood['tokens']:,} random-kid tokens",
                str(flood["keys_requests"]),
                "at most 1 per 30 s cooldown",
                f"{flood['seconds']:.1f} s; outcomes {flood['outcomes']}",
            )
        )
    return lines


#: The issue's budgets: (row or measure, what, limit, "max" or "min"). Compared and printed, never
#: asserted: the harness measures, it does not pass or fail.
BUDGETS = (
    ("core_new_token", "decision core, new token (x bare)", 2.0, "max"),
    ("core_same_token", "decision core, same token (x bare)", 0.3, "max"),
    ("handler_new_token", "warm handler, new token (x bare)", 4.0, "max"),
    ("handler_same_token", "warm handler, same token (x bare)", 2.5, "max"),
    ("okta_speedup", "warm handler vs okta-jwt-verifier (times faster)", 2.0, "min"),
    ("cold_start", "cold start (x import boto3 + SSM client)", 1.3, "max"),
    ("peak_rss", "peak RSS after the memory run (MiB)", 128.0, "max"),
    ("flood_requests", "key-set requests during the random-kid flood", 1.0, "max"),
)


def budget_figures(results: dict[str, Any]) -> dict[str, float | None]:
    """The figure each budget is about, None where that measurement failed or did not run."""
    rows = {row["name"]: row for row in results.get("rows", [])}

    def ratio(name: str) -> float | None:
        value = rows.get(name, {}).get("ratio_median")
        return float(value) if value is not None else None

    okta = rows.get("okta_jwt_verifier", {}).get("median_us")
    handler = rows.get("handler_new_token", {}).get("median_us")
    cold = results.get("cold_start") or {}
    memory = results.get("memory") or {}
    flood = results.get("jwks_flood") or {}
    return {
        "core_new_token": ratio("core_new_token"),
        "core_same_token": ratio("core_same_token"),
        "handler_new_token": ratio("handler_new_token"),
        "handler_same_token": ratio("handler_same_token"),
        "okta_speedup": okta / handler if okta and handler else None,
        "cold_start": cold.get("ratio_total"),
        "peak_rss": memory.get("after", {}).get("peak_rss_mb"),
        "flood_requests": flood.get("keys_requests"),
    }


def budget_lines(results: dict[str, Any]) -> Sequence[tuple[str, ...]]:
    """Table cells: each budget, the figure of this run and whether it is within it."""
    figures = budget_figures(results)
    lines = [("budget", "this run", "limit", "verdict")]
    for key, title, limit, kind in BUDGETS:
        figure = figures[key]
        if figure is None:
            lines.append((title, "-", f"{kind} {limit:g}", "not measured"))
            continue
        within = figure <= limit if kind == "max" else figure >= limit
        lines.append((title, f"{figure:.3g}", f"{kind} {limit:g}", "met" if within else "MISSED"))
    return lines


def render(lines: Sequence[tuple[str, ...]]) -> str:
    """Fixed-width text table."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    out = []
    for index, line in enumerate(lines):
        out.append("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
        if index == 0:
            out.append("  ".join("-" * width for width in widths))
    return "\n".join(text.rstrip() for text in out)


def render_markdown(lines: Sequence[tuple[str, ...]]) -> str:
    """Markdown table."""
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out.extend(
        "| " + " | ".join(cell.replace("|", "/") for cell in line) + " |" for line in lines[1:]
    )
    return "\n".join(out)


def print_report(results: dict[str, Any], out: TextIO) -> None:
    """The whole report on a terminal."""
    machine = results["machine"]
    out.write(
        f"\nmachine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']}"
        f" ({machine.get('python_build', 'build not recorded')}; {results['mode']} mode)\n"
        f"{_threads_sentence(results.get('measuring_threads'))}\n"
    )
    others = results.get("other_cpu_cores")
    if others is not None and others > 0.25:
        out.write(
            f"WARNING: other processes kept {others:.2f} of {machine['cores']} cores busy during"
            " the latency rows: figures are inflated and noisy (p99 above all)\n"
        )
    out.write("\n")
    out.write(render(latency_lines(results["rows"])) + "\n\n")
    out.write(render(other_lines(results)) + "\n\n")
    out.write(render(budget_lines(results)) + "\n")


def write_json(results: dict[str, Any], path: Path) -> None:
    """The full results (with raw cold-start samples, without latency samples)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=2, default=str) + "\n", encoding="utf-8")


def write_markdown(results: dict[str, Any], path: Path) -> None:
    """A committed summary: machine, the latency table and the other measures."""
    machine = results["machine"]
    text = [
        "# Benchmark results",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, Python {machine['python']} "
        f"({machine.get('python_build', 'build not recorded')}); "
        f"{results['mode']} mode; {results['finished']}.",
        f"Packages: {', '.join(f'{k} {v}' for k, v in machine['packages'].items() if v)}.",
        _threads_sentence(results.get("measuring_threads")),
        _other_cpu_sentence(results.get("other_cpu_cores")),
        "",
        render_markdown(latency_lines(results["rows"])),
        "",
        render_markdown(other_lines(results)),
        "",
        render_markdown(budget_lines(results)),
        "",
    ]
    path.write_text("\n".join(text), encoding="utf-8")


def _threads_sentence(threads: int | None) -> str:
    if threads is None:
        return "Latency rows measured in the harness's own process (with its servers' threads)."
    return (
        f"Latency rows measured in a child process running {threads} thread(s); the loopback "
        "servers answer from the harness's process."
    )


def _other_cpu_sentence(others: float | None) -> str:
    if others is None:
        return "Other processes' CPU use during the latency rows: not measured (no /proc/stat)."
    return f"Other processes kept {others:.2f} cores busy on average during the latency rows."


def write_chart(rows: Sequence[Row], path: Path) -> None:
    """Box plot of the latency distributions (log scale, whiskers at p1/p99), PNG via Agg."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    measured = [row for row in rows if row.samples_ns]
    data = [[ns / 1000 for ns in row.samples_ns] for row in measured]
    fig, ax = plt.subplots(figsize=(10, 0.5 * len(measured) + 1.5))
    ax.boxplot(
        data, vert=False, whis=(1, 99), showfliers=False, tick_labels=[r.name for r in measured]
    )
    ax.set_xscale("log")
    ax.set_xlabel("microseconds per call (log scale; box: quartiles, whiskers: p1-p99)")
    ax.invert_yaxis()
    ax.grid(axis="x", which="both", alpha=0.3)
    ax.set_title("Okta authorizer: latency distributions")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
