"""Latency and load through ``python -m serving.server`` on loopback.

    python benchmarks/server_latency.py --model serving/models/NAME \\
        --input ../shared/data/multi30k/test_2016_flickr.en [--json out.json]

1. Single-sentence latency: one client, one sentence per request, greedy and
   beam 5 (``translate_with_options``), p50/p99 over the input sentences. The
   ratio comes from the Python-loop decoders (``translation_baseline``, one
   model call per output step, ``tf.function`` and eager step) translating the
   same sentences in this process, interleaved sentence by sentence with the
   server requests (rotating order), so background load on the shared machine
   hits both alike.
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
import signal
import socket
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

from core.contract import resolve_version

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
    with socket.socket() as sock:  # a free REST port (0 would turn REST off)
        sock.bind(("127.0.0.1", 0))
        rest_port = sock.getsockname()[1]
    argv = [sys.executable, "-m", "serving.server", f"--model_base_path={model}", "--port=0"]
    argv += [f"--rest_api_port={rest_port}", "--enable_batching"]
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
        while not lines.empty():  # the server logs its batch sizes when it stops
            line = lines.get()
            if "batch sizes:" in line:
                print(f"server: {line.strip()}", file=sys.stderr)


def post(conn: http.client.HTTPConnection, path: str, body: dict[str, Any]) -> tuple[int, Any]:
    """One keep-alive POST; returns the status and decoded JSON."""
    conn.request("POST", path, body=json.dumps(body), headers={"Content-Type": "application/json"})
    response = conn.getresponse()
    return response.status, json.loads(response.read())


class _Load:
    """Shared state of the load-test clients: a ticket counter and the results."""

    def __init__(
        self, address: tuple[str, int], path: str, bodies: list[dict[str, Any]], n: int
    ) -> None:
        self.address, self.path, self.bodies = address, path, bodies
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
            body = self.bodies[i % len(self.bodies)]
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
    address: tuple[str, int], path: str, bodies: list[dict[str, Any]], clients: int, requests: int
) -> dict[str, Any]:
    """``clients`` threads share ``requests`` requests (``bodies``, round robin)."""
    load = _Load(address, path, bodies, requests)
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


def interleaved_latency(
    address: tuple[str, int], path: str, sentences: list[str], beam: int, decoder: Any
) -> dict[str, dict[str, float]]:
    """Per-sentence latency of the server and both loop decoders, taking turns."""
    conn = http.client.HTTPConnection(*address, timeout=120)

    def server(sentence: str) -> None:
        instances = [{"text": sentence, "beam_size": beam}]
        body = {"signature_name": "translate_with_options", "instances": instances}
        status, answer = post(conn, path, body)
        if status != 200:
            raise SystemExit(f"request failed: {status} {answer}")

    calls = {
        "server": server,
        "loop": lambda s: decoder.translate([s], beam, decoder.alpha, compiled=True),
        "eager": lambda s: decoder.translate([s], beam, decoder.alpha, compiled=False),
    }
    names = list(calls)
    for sentence in sentences[:5]:
        for call in calls.values():
            call(sentence)  # warm-up / tracing
    latencies: dict[str, list[float]] = {name: [] for name in names}
    for i, sentence in enumerate(sentences):
        for name in names[i % 3 :] + names[: i % 3]:
            start = time.perf_counter()
            calls[name](sentence)
            latencies[name].append(time.perf_counter() - start)
    conn.close()
    return {name: summary(values) for name, values in latencies.items()}


def load_bodies(sentences: list[str], beam: int | None) -> list[dict[str, Any]]:
    """One-sentence requests: the default signature, or ``translate_with_options``."""
    if beam is None:
        return [{"instances": [sentence]} for sentence in sentences]
    return [
        {
            "signature_name": "translate_with_options",
            "instances": [{"text": sentence, "beam_size": beam}],
        }
        for sentence in sentences
    ]


def load_decoder(args: argparse.Namespace) -> Any:
    """The Python-loop decoder on the export's run, with the export's decoding defaults."""
    from translation_baseline import LoopDecoder

    export = resolve_version(args.model, None)
    settings = decode_settings(export)
    config = args.config or export / "assets.extra" / "config.yaml"
    decoder = LoopDecoder(config, settings["max_length_a"], settings["max_length_b"])
    decoder.alpha = settings["alpha"]  # type: ignore[attr-defined]
    return decoder


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, required=True, help="serving/models/NAME")
    parser.add_argument("--input", type=Path, required=True, help="one sentence per line")
    parser.add_argument("--config", type=Path, help="run config for the baseline")
    parser.add_argument(
        "--beams", type=int, nargs="*", default=[1, 5], help="1 = greedy; none: load test only"
    )
    parser.add_argument("--limit", type=int, help="first N sentences for the latency runs")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--load-beam", type=int, help="load test beam (default: the export's)")
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--server-args", default="", help="extra serving.server flags")
    parser.add_argument("--json", type=Path, help="write all results here")
    return parser


def main() -> int:
    """Latency with its baseline ratios, then the load test; prints Markdown rows."""
    args = _parser().parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # stop the server on the way out
    sentences = args.input.read_text(encoding="utf-8").splitlines()[: args.limit]
    path = f"/v1/models/{args.model.resolve().name}:predict"
    decoder = load_decoder(args) if args.beams else None
    cpu_load = [os.getloadavg()[0]]  # 1-minute load: others' work shares the CPU
    results: dict[str, Any] = {"latency": {}}
    with running_server(args.model, args.server_args.split()) as address:
        for beam in args.beams:
            latency = interleaved_latency(address, path, sentences, beam, decoder)
            results["latency"][str(beam)] = latency
        cpu_load.append(os.getloadavg()[0])
        bodies = load_bodies(sentences, args.load_beam)
        results["load"] = load_test(address, path, bodies, args.clients, args.requests)
        search = {None: "default", 1: "greedy"}.get(args.load_beam, f"beam {args.load_beam}")
        results["load"]["search"] = search
    results["cpu_load_1min"] = [*cpu_load, os.getloadavg()[0]]
    print("\n".join(report(results)))
    if args.json:
        args.json.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0 if results["load"]["errors"] == 0 else 1


def report(results: dict[str, Any]) -> list[str]:
    """Markdown rows for the latency table and the load test."""
    rows = [
        "| search | server p50 | server p99 | baseline | baseline p50 | baseline p99 "
        "| speed-up p50 / p99 |",
        "|---|---|---|---|---|---|---|",
    ]
    labels = {"loop": "loop, tf.function step", "eager": "loop, eager step"}
    for beam, measured in results["latency"].items():
        label = "greedy" if beam == "1" else f"beam {beam}"
        server = measured["server"]
        for mode, name in labels.items():
            loop = measured[mode]
            rows.append(
                f"| {label} | {server['p50_ms']:.1f} ms | {server['p99_ms']:.1f} ms "
                f"| {name} | {loop['p50_ms']:.1f} ms | {loop['p99_ms']:.1f} ms "
                f"| {loop['p50_ms'] / server['p50_ms']:.1f}x "
                f"/ {loop['p99_ms'] / server['p99_ms']:.1f}x |"
            )
    if not results["latency"]:
        rows = []
    load = results["load"]
    rows += [
        "",
        f"Load ({load['search']} search): {load['clients']} clients, {load['requests']} requests, "
        f"{load['errors']} errors, "
        f"{load['requests_per_s']:.0f} requests/s, p50 {load['p50_ms']:.1f} ms, "
        f"p99 {load['p99_ms']:.1f} ms, mean {load['mean_ms']:.1f} ms.",
        "1-minute CPU load at the start, before the load test and at the end: "
        f"{', '.join(f'{x:.2f}' for x in results['cpu_load_1min'])}.",
    ]
    return rows


if __name__ == "__main__":
    sys.exit(main())
