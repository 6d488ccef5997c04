"""Allocation speed: max_hires (OR-Tools min-cost flow) and stable (deferred acceptance).

Random sparse candidate graphs like MEASURED.md: 10,000 / 100,000 / 1,000,000 workers with
1,000 / 10,000 / 100,000 commitments, ~35 candidates per worker, capacities totalling 60 %
of workers, p ~ Beta(2, 5), worker_value uniform. Each measurement runs in a fresh child
process so its peak RSS (which includes the instance arrays) is its own. The stable policy
is also checked against the PyPI `matching` package (resident-optimal) on every size it
solves within the timeout, plus a 20,000-worker instance for the speed comparison. Prints
tables; asserts nothing.

    .venv/bin/python bench/allocation.py [--quick] [--sizes 10000:1000,100000:10000]
                                         [--compare 20000:2000] [--candidates 35]
                                         [--matching-timeout 300] [--seed 0]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np

# Run as a script, bench/ is sys.path[0]; keep the project root first and bench/ out, so no
# file here can ever shadow an installed package (bench/matching.py once shadowed `matching`).
BENCH = Path(__file__).resolve().parent
sys.path[:] = [str(BENCH.parent)] + [p for p in sys.path if Path(p or ".").resolve() != BENCH]

from matcher.allocation import (  # noqa: E402
    greedy_sequential,
    greedy_top1_uncapped,
    max_hires,
    overfilled_commitments,
    stable,
)

SIZES = "10000:1000,100000:10000,1000000:100000"


def make_instance(n_workers: int, n_commitments: int, candidates: int, seed: int):
    """Build a seeded random candidate graph (one edge per distinct pair)."""
    rng = np.random.default_rng(seed)
    worker = np.repeat(np.arange(n_workers, dtype=np.int64), candidates)
    commitment = rng.integers(0, n_commitments, worker.size)
    pair = np.unique(worker * n_commitments + commitment)
    worker, commitment = pair // n_commitments, pair % n_commitments
    p = rng.beta(2.0, 5.0, worker.size)
    worker_value = rng.random(worker.size)
    capacity = rng.multinomial(int(0.6 * n_workers), np.full(n_commitments, 1 / n_commitments))
    return worker, commitment, p, capacity, worker_value


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_matching_package(worker, commitment, p, capacity, worker_value):
    """Solve with `matching` (resident-optimal); return (seconds, set of pairs)."""
    from matching.games import HospitalResident

    started = time.perf_counter()
    usable = capacity[commitment] > 0  # the package warns about and drops 0-capacity hospitals
    resident_prefs: dict[int, list[int]] = {}
    hospital_prefs: dict[int, list[int]] = {}
    order = np.lexsort((np.arange(worker.size), -worker_value, worker))
    for w, c in zip(
        worker[order][usable[order]].tolist(),
        commitment[order][usable[order]].tolist(),
        strict=True,
    ):
        resident_prefs.setdefault(w, []).append(c)
    order = np.lexsort((np.arange(worker.size), worker, -p, commitment))
    for c, w in zip(
        commitment[order][usable[order]].tolist(),
        worker[order][usable[order]].tolist(),
        strict=True,
    ):
        hospital_prefs.setdefault(c, []).append(w)
    capacities = {c: int(capacity[c]) for c in hospital_prefs}
    result = {}

    def solve():
        # The package recurses deeply while copying its player objects (MEASURED.md).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            game = HospitalResident.create_from_dictionaries(
                resident_prefs, hospital_prefs, capacities
            )
            solution = game.solve(optimal="resident")
        result["pairs"] = {(r.name, h.name) for h, rs in solution.items() for r in rs}

    sys.setrecursionlimit(1_000_000)
    threading.stack_size(1 << 29)
    thread = threading.Thread(target=solve)
    thread.start()
    thread.join()
    return time.perf_counter() - started, result["pairs"]


def child(task: dict) -> dict:
    """Run one measurement in this (fresh) process and return its figures."""
    worker, commitment, p, capacity, worker_value = make_instance(
        task["workers"], task["commitments"], task["candidates"], task["seed"]
    )
    out: dict = {"edges": int(worker.size)}
    if task["what"] == "max_hires":
        allocation = max_hires(worker, commitment, p, capacity)
        out |= {"seconds": allocation.seconds, "expected_hires": allocation.expected_hires}
        greedy = greedy_sequential(worker, commitment, p, capacity, seed=task["seed"])
        uncapped = greedy_top1_uncapped(worker, commitment, p, capacity)
        out |= {
            "greedy_expected_hires": greedy.expected_hires,
            "uncapped_expected_hires": uncapped.expected_hires,
            "uncapped_overfilled": int(overfilled_commitments(uncapped, capacity).size),
            "uncapped_over_capacity_workers": int(
                np.maximum(
                    np.bincount(uncapped.commitment, minlength=capacity.size) - capacity, 0
                ).sum()
            ),
        }
    elif task["what"] == "stable":
        allocation = stable(worker, commitment, p, capacity, worker_value)
        out |= {"seconds": allocation.seconds, "expected_hires": allocation.expected_hires}
    elif task["what"] == "matching":
        seconds, pairs = run_matching_package(worker, commitment, p, capacity, worker_value)
        ours = stable(worker, commitment, p, capacity, worker_value)
        mine = set(zip(ours.worker.tolist(), ours.commitment.tolist(), strict=True))
        out |= {"seconds": seconds, "ours_seconds": ours.seconds, "identical": pairs == mine}
    out["peak_mb"] = peak_mb()
    return out


def measure(task: dict, timeout: float | None = None) -> dict | None:
    """Run ``task`` in a child process; None on timeout, ``{"failed": True}`` on error."""
    try:
        done = subprocess.run(
            [sys.executable, __file__, "--child", json.dumps(task)],
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return None
    if done.returncode != 0:
        print(done.stderr[-2000:], file=sys.stderr)
        return {"failed": True}
    return json.loads(done.stdout.strip().splitlines()[-1])


def parse_sizes(text: str) -> list[tuple[int, int]]:
    return [tuple(int(x) for x in part.split(":")) for part in text.split(",") if part]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default=SIZES, help="workers:commitments,... to run")
    parser.add_argument("--compare", default="20000:2000", help="extra size for `matching`")
    parser.add_argument("--quick", action="store_true", help="only 10,000 (+ the comparison)")
    parser.add_argument("--candidates", type=int, default=35)
    parser.add_argument("--matching-timeout", type=float, default=300.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(json.loads(args.child))))
        return

    sizes = parse_sizes("10000:1000" if args.quick else args.sizes)
    compare = parse_sizes(args.compare)
    base = {"candidates": args.candidates, "seed": args.seed}

    print(
        "| workers × commitments (edges) | max_hires s | max_hires peak MB | stable s "
        "| stable peak MB |"
    )
    print("| --- | --- | --- | --- | --- |")
    flows = {}
    for n_workers, n_commitments in sizes:
        task = base | {"workers": n_workers, "commitments": n_commitments}
        flow = measure(task | {"what": "max_hires"})
        da = measure(task | {"what": "stable"})
        flows[n_workers, n_commitments] = flow
        print(
            f"| {n_workers:,} × {n_commitments:,} ({flow['edges']:,}) | {flow['seconds']:.2f} "
            f"| {flow['peak_mb']:.0f} | {da['seconds']:.2f} | {da['peak_mb']:.0f} |",
            flush=True,
        )

    print(
        "\n| workers | greedy_sequential E[hires] | max_hires E[hires] | gain % "
        "| uncapped top-1 E[hires] | uncapped: overfilled commitments (excess workers) |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    for (n_workers, _), flow in flows.items():
        gain = 100 * (flow["expected_hires"] / flow["greedy_expected_hires"] - 1)
        print(
            f"| {n_workers:,} | {flow['greedy_expected_hires']:,.1f} "
            f"| {flow['expected_hires']:,.1f} | {gain:+.1f} "
            f"| {flow['uncapped_expected_hires']:,.1f} "
            f"| {flow['uncapped_overfilled']:,} ({flow['uncapped_over_capacity_workers']:,}) |"
        )

    print(
        f"\n`matching` {_version('matching')} vs ours, stable policy "
        f"(timeout {args.matching_timeout:.0f} s)"
    )
    print("| workers × commitments | matching s | ours s | speed-up | identical |")
    print("| --- | --- | --- | --- | --- |")
    for n_workers, n_commitments in sorted(set(sizes) | set(compare)):
        task = base | {"workers": n_workers, "commitments": n_commitments, "what": "matching"}
        result = measure(task, timeout=args.matching_timeout)
        if result is not None and result.get("failed"):
            print(f"| {n_workers:,} × {n_commitments:,} | failed | – | – | – |", flush=True)
            continue
        if result is None:
            print(
                f"| {n_workers:,} × {n_commitments:,} | > {args.matching_timeout:.0f} "
                "| – | – | – |",
                flush=True,
            )
            break  # larger sizes only take longer
        print(
            f"| {n_workers:,} × {n_commitments:,} | {result['seconds']:.1f} "
            f"| {result['ours_seconds']:.3f} | {result['seconds'] / result['ours_seconds']:,.0f}× "
            f"| {'yes' if result['identical'] else 'NO'} |",
            flush=True,
        )


def _version(name: str) -> str:
    from importlib.metadata import version

    return version(name)


if __name__ == "__main__":
    main()
