"""Latency and load through ``python -m serving.server`` on loopback.

    python benchmarks/server_latency.py --model serving/models/NAME \\
        --input ../shared/data/multi30k/test_2016_flickr.en [--json out.json]

1. Single-sentence latency: one client, one sentence per request, greedy and
   beam 5 (``translate_with_options``), p50/p99 over the input sentences; the
   same sentences through the Python-loop decoder (``translation_baseline``,
   one model call per output step, in its own process) give the ratio.
2. Load: ``--clients`` concurrent clients (keep-alive connections) send
   ``--requests`` single-sentence requests to the default signature; errors,
   throughput and latency percentiles. Clients and server share the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import queue
import re
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from translation_throughput import decode_settings

from serving.translate import resolve_version

REPO = Path(__file__).resolve().parents[1]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered)) - 1))]


def summary(latencies_s: list[float]) -> dict[str, float]:
    """p50, p99 and mean in milliseconds."""
    ms = [x * 1000 for x in latencies_s]
    return {
        "p50_ms": percentile(ms, 50),
        "p99_ms": percentile(ms, 99),
        "mean_ms": statistics.mean(ms),
    }


@contextmanager
def running_server(model: Path, extra: list[str]) -> Iterator[tuple[str, int]]:
    """Start the server on 127.0.0.1:<free port>; yield its address; stop it."""
    argv = [sys.executable, "-m", "serving.server", "--model_base_path", str(model), "--port", "0"]
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    process = subprocess.Popen(
        [*argv, *extra], cwd=REPO, env=env, stderr=subprocess.PIPE, text=True
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(target=lambda: [lines.put(x) for x in process.stderr or []])
    reader.start()
    try:
        deadline = time.monotonic() + 300
        while True:
            if time.monotonic() > deadline or process.poll() is not None:
                raise SystemExit("the server did not start")
            try:
                match = re.search(r"at http://([\d.]+):(\d+)", lines.get(timeout=1))
            except queue.Empty:
                continue
            if match:
                yield match[1], int(match[2])
                break
    finally:
        process.terminate()
        process.wait(timeout=60)
        reader.join(60)


def post(conn: http.client.HTTPConnection, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """One keep-alive POST; returns the status and decoded JSON."""
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


def single_latency(
    address: tuple[str, int], path: str, bodies: list[dict[str, Any]]
) -> list[float]:
    """Sequential requests on one connection; seconds per request."""
    conn = http.client.HTTPConnection(*address, timeout=120)
    for body in bodies[:10]:
        post(conn, path, body)  # warm-up
    latencies = []
    for body in bodies:
        start = time.perf_counter()
        status, answer = post(conn, path, body)
        latencies.append(time.perf_counter() - start)
        if status != 200:
            raise SystemExit(f"request failed: {status} {answer}")
    conn.close()
    return latencies


class _Load:
    """Shared state of the load-test clients: a ticket counter and the results."""

    def __init__(self, address: tuple[str, int], path: str, sentences: list[str], n: int) -> None:
        self.address, self.path, self.sentences = address, path, sentences
        self.tickets = iter(range(n))
        self.lock = threading.Lock()
        self.latencies: list[float] = []
        self.errors: list[str] = []

    def client(self) -> None:
        """Take tickets until none are left; one keep-alive connection per client."""
        conn = http.client.HTTPConnection(*self.address, timeout=120)
        while True:
            with self.lock:
                i = next(self.tickets, None)
            if i is None:
                break
            body = {"instances": [self.sentences[i % len(self.sentences)]]}
            start = time.perf_counter()
            try:
                status, answer = post(conn, self.path, body)
                ok = status == 200 and len(answer["predictions"]) == 1
            except (OSError, http.client.HTTPException, ValueError) as err:
                ok, answer = False, repr(err)
                conn = http.client.HTTPConnection(*self.address, timeout=120)
            with self.lock:
                self.latencies.append(time.perf_counter() - start)
                if not ok:
                    self.errors.append(str(answer)[:200])
        conn.close()


def load_test(
    address: tuple[str, int], path: str, sentences: list[str], clients: int, requests: int
) -> dict[str, Any]:
    """``clients`` threads share ``requests`` single-sentence requests."""
    load = _Load(address, path, sentences, requests)
    threads = [threading.Thread(target=load.client) for _ in range(clients)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    return {
        "clients": clients,
        "requests": requests,
        "errors": len(load.errors),
        "first_errors": load.errors[:3],
        "seconds": seconds,
        "requests_per_s": requests / seconds,
        **summary(load.latencies),
    }


def loop_worker(args: argparse.Namespace, sentences: list[str]) -> dict[str, Any]:
    """Per-sentence latency of the Python-loop decoders (run in their own process)."""
    from translation_baseline import LoopDecoder

    export = resolve_version(args.model, None)
    settings = decode_settings(export)
    config = args.config or export / "assets.extra" / "config.yaml"
    results: dict[str, Any] = {}
    for mode in args.loops:
        limits = (settings["max_length_a"], settings["max_length_b"])
        decoder = LoopDecoder(config, *limits, compiled=mode == "loop")
        for beam in args.beams:
            for sentence in sentences[:10]:
                decoder.translate([sentence], beam, settings["alpha"])  # warm-up / tracing
            latencies = []
            for sentence in sentences:
                start = time.perf_counter()
                decoder.translate([sentence], beam, settings["alpha"])
                latencies.append(time.perf_counter() - start)
            results.setdefault(mode, {})[str(beam)] = summary(latencies)
    return results


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="serving/models/NAME")
    parser.add_argument("--input", type=Path, required=True, help="one sentence per line")
    parser.add_argument("--config", type=Path, help="run config for the baseline")
    parser.add_argument("--beams", type=int, nargs="+", default=[1, 5], help="1 = greedy")
    parser.add_argument("--limit", type=int, help="first N sentences for the latency runs")
    parser.add_argument(
        "--loops",
        nargs="+",
        default=["loop", "eager"],
        choices=["loop", "eager"],
        help="baselines: loop (tf.function step) and/or eager (eager step)",
    )
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--server-args", default="", help="extra serving.server flags")
    parser.add_argument("--json", type=Path, help="write all results here")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    return parser


def main() -> int:
    """Latency with its baseline ratio, then the load test; prints Markdown rows."""
    args = _parser().parse_args()
    sentences = args.input.read_text(encoding="utf-8").splitlines()[: args.limit]
    if args.worker:
        print(json.dumps(loop_worker(args, sentences)))
        return 0
    name = args.model.resolve().name
    results: dict[str, Any] = {"server": {}, "loop": run_loop_worker()}
    with running_server(args.model, args.server_args.split()) as address:
        for beam in args.beams:
            bodies = [
                {
                    "signature_name": "translate_with_options",
                    "instances": [{"text": s, "beam_size": beam}],
                }
                for s in sentences
            ]
            latencies = single_latency(address, f"/v1/models/{name}:predict", bodies)
            results["server"][str(beam)] = summary(latencies)
        path = f"/v1/models/{name}:predict"
        results["load"] = load_test(address, path, sentences, args.clients, args.requests)
    print("\n".join(report(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0 if results["load"]["errors"] == 0 else 1


def run_loop_worker() -> dict[str, Any]:
    """This script with ``--worker`` in a fresh process: the baseline's latencies."""
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    argv = [sys.executable, __file__, *sys.argv[1:], "--worker"]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"baseline failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def report(results: dict[str, Any]) -> list[str]:
    """Markdown rows for the latency table and the load test."""
    rows = [
        "| search | server p50 | server p99 | baseline | baseline p50 | baseline p99 "
        "| speed-up p50 / p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {"loop": "loop (tf.function step)", "eager": "loop (eager step)"}
    for beam, server in results["server"].items():
        label = "greedy" if beam == "1" else f"beam {beam}"
        for mode, by_beam in results["loop"].items():
            loop = by_beam[beam]
            rows.append(
                f"| {label} | {server['p50_ms']:.1f} ms | {server['p99_ms']:.1f} ms "
                f"| {labels[mode]} | {loop['p50_ms']:.1f} ms | {loop['p99_ms']:.1f} ms "
                f"| {loop['p50_ms'] / server['p50_ms']:.1f}x "
                f"/ {loop['p99_ms'] / server['p99_ms']:.1f}x |"
            )
    load = results["load"]
    rows += [
        "",
        f"Load: {load['clients']} clients, {load['requests']} requests, {load['errors']} errors, "
        f"{load['requests_per_s']:.0f} requests/s, p50 {load['p50_ms']:.1f} ms, "
        f"p99 {load['p99_ms']:.1f} ms, mean {load['mean_ms']:.1f} ms.",
    ]
    return rows


if __name__ == "__main__":
    sys.exit(main())
