"""Peak RSS over many warm invocations with distinct tokens, in a child interpreter of its own.

Run as a child: `python -m benchmarks.memory INVOCATIONS RESULT.json`, with the SSM endpoint and
route-map path in the environment; the child starts its own loopback issuer and token minter.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

LAMBDA_MB = 128
_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def current_rss_mb() -> float:
    """Resident set size now (Linux /proc), in MiB."""
    with open("/proc/self/statm", encoding="ascii") as statm:
        return int(statm.read().split()[1]) * _PAGE / 2**20


def peak_rss_mb() -> float:
    """Peak resident set size of this process image (VmHWM), in MiB.

    Not ru_maxrss alone: Linux carries the launching parent's RSS at fork across exec into the
    child's ru_maxrss, so a child of a big harness reports the harness's size as its peak.
    """
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return maxrss_mb()


def maxrss_mb() -> float:
    """resource.getrusage(RUSAGE_SELF).ru_maxrss (KiB on Linux), in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run(invocations: int) -> dict[str, Any]:
    """Warm the handler, then invoke it `invocations` times with fresh tokens; RSS along the way."""
    inherited_maxrss = maxrss_mb()
    from benchmarks.environment import AUDIENCE, configure, token_event
    from benchmarks.minting import TokenMinter
    from benchmarks.scenarios import check_allowed, handler_call, production_output
    from okta_authorizer.localdev.issuer import LocalIssuer

    with (
        LocalIssuer() as issuer,
        TokenMinter(issuer.key) as minter,
        open(os.devnull, "w", encoding="utf-8") as sink,
    ):
        configure(os.environ, issuer.issuer, os.environ["ROUTES_PARAMETER_PATH"])
        warm = minter.mint(issuer.issuer, AUDIENCE, min(500, max(10, invocations // 10)))
        with production_output(sink):
            invoke = handler_call()
            for token in warm:
                event = token_event(token)
                check_allowed(invoke(event), event)
            del warm, event
            before = {
                "rss_mb": current_rss_mb(),
                "peak_rss_mb": peak_rss_mb(),
                "ru_maxrss_mb": maxrss_mb(),
            }
            checkpoints = sorted({invocations * q // 10 for q in range(1, 11)})
            trail: list[dict[str, float]] = []
            done = 0
            started = time.perf_counter()
            for batch in minter.stream(issuer.issuer, AUDIENCE, invocations, batch=500):
                for token in batch:
                    event = token_event(token)
                    result = invoke(event)
                    done += 1
                    if done % 1000 == 1:
                        check_allowed(result, event)
                    if done == checkpoints[len(trail)]:
                        trail.append(
                            {
                                "invocations": done,
                                "rss_mb": current_rss_mb(),
                                "peak_rss_mb": peak_rss_mb(),
                            }
                        )
            elapsed = time.perf_counter() - started
    after = {
        "rss_mb": trail[-1]["rss_mb"],
        "peak_rss_mb": peak_rss_mb(),
        "ru_maxrss_mb": maxrss_mb(),
    }
    return {
        "invocations": invocations,
        "before": before,
        "after": after,
        "growth_mb": after["rss_mb"] - before["rss_mb"],
        "peak_growth_mb": after["peak_rss_mb"] - before["peak_rss_mb"],
        "checkpoints": trail,
        "lambda_mb": LAMBDA_MB,
        # ru_maxrss at the child's start: the parent's RSS when it forked (see peak_rss_mb).
        "ru_maxrss_inherited_mb": inherited_maxrss,
        "seconds": elapsed,
    }


def measure_memory(
    environ: MutableMapping[str, str], invocations: int, workdir: Path
) -> dict[str, Any]:
    """Run the child and return what it measured."""
    from benchmarks.environment import ROOT, child_environment

    out = workdir / "memory.json"
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.memory", str(invocations), str(out)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env=child_environment(environ),
        cwd=ROOT,
        timeout=1800,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"memory child failed:\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return result


def main(argv: list[str]) -> int:
    """Child entry point."""
    record = run(int(argv[0]))
    Path(argv[1]).write_text(json.dumps(record), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
