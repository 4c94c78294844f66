"""The latency rows, measured in a child process that, like Lambda's, runs one thread."""

# The loopback servers answer from threads of the harness's own process. A server thread woken by
# its poll timer must win the GIL back from the measured code, and it only gets a chance when that
# code releases it (a write to the log, a C call): each release wakes it, and each race it loses
# costs the measured call a futex wake and a context switch. With the fifth pass's code this added
# 10-13 us to every warm handler call (2,478 wake-ups of the issuer's thread in 4,200 calls),
# depending on nothing but where the measured code happened to release the GIL
# (benchmarks/README.md, "Sixth pass"). The child reaches the servers over 127.0.0.1.

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from benchmarks.timing import Row

T = TypeVar("T")


@dataclass(frozen=True)
class LatencyInputs:
    """What the child needs: the plan's sizes, pre-minted tokens and where the issuer listens."""

    samples: int
    warmup: int
    tokens: Sequence[str]  # valid for `issuer`
    okta_tokens: Sequence[str]  # valid for the https twin of `issuer` (okta-jwt-verifier)
    issuer: str
    keys_url: str
    public_key_pem: bytes  # the issuer's signing key, for the bare RS256 row
    started: float  # the harness's time.monotonic() origin, for its progress lines


@dataclass
class LatencyResults:
    """The rows, what other processes used meanwhile, and the threads the child ran with."""

    rows: list[Row]
    other_cpu_cores: float | None
    threads: int


def run_isolated(function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a fresh spawned interpreter (the environment and sys.path inherited)."""
    # spawn, not fork: the parent runs server threads, and a forked child would inherit their
    # state (locks held mid-request) without the threads.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(function, *args).result()


def measure_in_child(inputs: LatencyInputs) -> LatencyResults:
    """Every latency row, measured in a child process with no server thread in it."""
    return run_isolated(measure_all, inputs)


def measure_all(inputs: LatencyInputs) -> LatencyResults:
    """Every latency row in this process, in table order (the child's entry point)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from benchmarks import observability_costs, peers, scenarios
    from benchmarks.harness import continue_clock, progress

    continue_clock(inputs.started)
    public_key = serialization.load_pem_public_key(inputs.public_key_pem)
    if not isinstance(public_key, rsa.RSAPublicKey):
        raise TypeError("the issuer's key is not RSA")
    tokens, warmup = inputs.tokens, inputs.warmup
    same = [tokens[0]] * len(tokens)
    with open(os.devnull, "w", encoding="utf-8") as sink:
        measures: list[tuple[Row, Callable[[], Row]]] = [
            (
                Row("rs256_bare", "bare RS256 verify (cryptography)"),
                lambda: scenarios.measure_bare_rs256(public_key, tokens, warmup),
            ),
            (
                Row("core_new_token", "decision core, new token each call"),
                lambda: scenarios.measure_core(
                    tokens, warmup, name="core_new_token", title="decision core, new token"
                ),
            ),
            (
                Row("core_same_token", "decision core, same token repeated"),
                lambda: scenarios.measure_core(
                    same, warmup, name="core_same_token", title="decision core, same token"
                ),
            ),
            (
                Row("handler_new_token", "warm handler, new token each call"),
                lambda: scenarios.measure_handler(
                    tokens,
                    warmup,
                    sink,
                    name="handler_new_token",
                    title="warm handler (log + EMF), new token",
                ),
            ),
            (
                Row("handler_same_token", "warm handler, same token repeated"),
                lambda: scenarios.measure_handler(
                    same,
                    warmup,
                    sink,
                    name="handler_same_token",
                    title="warm handler (log + EMF), same token",
                ),
            ),
            (
                Row("okta_jwt_verifier", "okta-jwt-verifier verify_sync"),
                lambda: peers.measure_okta_jwt_verifier(inputs.issuer, inputs.okta_tokens, warmup),
            ),
            (
                Row("pyjwt_pyjwkclient", "PyJWT + PyJWKClient"),
                lambda: peers.measure_pyjwt(inputs.keys_url, inputs.issuer, tokens, warmup),
            ),
        ]
        for name, cost in (
            ("log_powertools", observability_costs.measure_powertools_log),
            ("log_powertools_rfc3339", observability_costs.measure_powertools_log_rfc3339),
            ("log_powertools_orjson", observability_costs.measure_powertools_log_orjson),
            ("log_stdlib_json", observability_costs.measure_stdlib_log),
            ("emf_powertools", observability_costs.measure_emf_flush),
            ("emf_hand_rolled", observability_costs.measure_emf_hand_rolled),
            ("decision_line", observability_costs.measure_decision_line),
        ):
            measures.append(
                (Row(name, name), functools.partial(cost, sink, inputs.samples, warmup))
            )
        threads = threading.active_count()
        rows = []
        before = CpuShare.now()
        for placeholder, measure in measures:
            progress(f"measuring {placeholder.name}")
            rows.append(guarded(placeholder, measure))
        others = before.others_since()
    return LatencyResults(rows, others, threads)


@dataclass(frozen=True)
class CpuShare:
    """The machine's busy CPU time and this process's own, to tell what others used meanwhile."""

    wall: float
    machine: float
    own: float

    @classmethod
    def now(cls) -> CpuShare:
        """A reading: wall clock, CPU seconds of the whole machine (/proc/stat), of this process."""
        times = os.times()
        return cls(time.monotonic(), _machine_busy_seconds(), times.user + times.system)

    def others_since(self) -> float | None:
        """Cores other processes kept busy on average since this reading (None off Linux)."""
        later = CpuShare.now()
        if self.machine < 0 or later.machine < 0 or later.wall <= self.wall:
            return None
        others = (later.machine - self.machine) - (later.own - self.own)
        return max(0.0, others / (later.wall - self.wall))


def _machine_busy_seconds() -> float:
    # First line of /proc/stat: cpu user nice system idle iowait irq softirq steal ... (ticks).
    try:
        with open("/proc/stat", encoding="ascii") as stat:
            fields = [int(value) for value in stat.readline().split()[1:9]]
    except (OSError, ValueError):
        return -1.0
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def guarded(row: Row, measure: Callable[[], Row]) -> Row:
    """Run one measurement; a failure becomes a row with status 'error' (the others still run)."""
    try:
        return measure()
    except Exception as error:  # noqa: BLE001 - reported in the table and the JSON, exit code 1
        traceback.print_exc(file=sys.stderr)
        row.status = "error"
        row.note = f"{type(error).__name__}: {error}"[:300]
        return row
