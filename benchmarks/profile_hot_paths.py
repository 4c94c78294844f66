"""`make bench-profile`: where the time of the decision core and the warm handler goes.

Profiles a few thousand calls of each with pyinstrument (statistical, low overhead) and prints the
call trees; `--cprofile` prints cProfile's top functions by own time instead.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
from collections.abc import Callable, Sequence
from typing import Any

from benchmarks.environment import AUDIENCE, loopback, reset_caches, token_event
from benchmarks.latency import run_isolated
from benchmarks.minting import TokenMinter
from benchmarks.scenarios import check_allowed, handler_call, production_output


def profile(
    label: str, call: Callable[[Any], object], inputs: Sequence[Any], *, cprof: bool
) -> str:
    """Run `call` over `inputs` under a profiler; the report as text."""
    if cprof:
        profiler = cProfile.Profile()
        profiler.enable()
        for item in inputs:
            call(item)
        profiler.disable()
        text = io.StringIO()
        stats = pstats.Stats(profiler, stream=text)
        stats.sort_stats("tottime").print_stats(25)
        return f"== {label} (cProfile, {len(inputs)} calls, by own time)\n{text.getvalue()}"
    from pyinstrument import Profiler

    sampler = Profiler(interval=0.0001)
    sampler.start()
    for item in inputs:
        call(item)
    sampler.stop()
    body = sampler.output_text(unicode=False, color=False, show_all=False)
    return f"== {label} (pyinstrument, {len(inputs)} calls)\n{body}"


def main(argv: Sequence[str] | None = None) -> int:
    """Profile the core and the handler on new tokens; print both reports."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.profile_hot_paths")
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--cprofile", action="store_true", help="cProfile instead of pyinstrument")
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    with loopback(os.environ) as world:
        issuer = world.issuer
        with TokenMinter(issuer.key) as minter:
            tokens = minter.mint(issuer.issuer, AUDIENCE, 2 * args.calls + 2)
        # Profiled where the latency rows are measured: a child without the servers' threads.
        reports = run_isolated(profile_both, tokens, args.calls, args.cprofile)
    sys.stdout.write("\n\n".join(reports) + "\n")
    return 0


def profile_both(tokens: Sequence[str], calls: int, cprof: bool) -> list[str]:
    """The decision core's and the warm handler's reports (the child's entry point)."""
    from okta_authorizer.service import AuthorizationRequest, get_authorizer
    from okta_authorizer.settings import get_settings

    arn = token_event("x")["methodArn"]
    reset_caches()

    def core(header: str) -> object:
        return get_authorizer(get_settings()).authorize(
            AuthorizationRequest("token", header, arn, "")
        )

    core(f"Bearer {tokens[0]}")  # warm: keys and route map fetched here, not profiled
    headers = [f"Bearer {token}" for token in tokens[1 : calls + 1]]
    reports = [profile("decision core, new token", core, headers, cprof=cprof)]

    events = [token_event(token) for token in tokens[calls + 1 :]]
    reset_caches()
    with open(os.devnull, "w", encoding="utf-8") as sink, production_output(sink):
        invoke = handler_call()
        check_allowed(invoke(events[0]), events[0])
        reports.append(profile("warm handler, new token", invoke, events[1:], cprof=cprof))
    return reports


if __name__ == "__main__":
    sys.exit(main())
