"""Load on `keras-domains serve`: single-row predict requests from many concurrent clients.

Target: with micro-batching on (the server's default), zero errors and a p99
latency under 50 ms at 50 concurrent clients, each sending one-row predict
requests to a `DiagnosisPredictor` back to back over a keep-alive connection.
The same load is also run with micro-batching off (`--batch-wait-ms 0`) for
comparison.

The server runs in a subprocess on a free loopback port; the clients are
asyncio connections speaking raw HTTP/1.1 in this process, so that little of
the two machines' cores goes to the client. Every answer is checked against
the model's own `predict_proba` on the same row.

Run from the repository root:

    python -m benchmarks.serve_load [--requests 5000] [--concurrency 50] [--json out.json]
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import argparse
import asyncio
import json
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd

REPO_ROOT = Path(__file__).resolve().parents[1]
PATIENTS_CSV = REPO_ROOT / "sample_data" / "medical" / "patients.csv"
TARGET_P99_MS = 50.0
AGREEMENT_TOLERANCE = 1e-6
MODEL_NAME = "diagnosis"


def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.serve_load",
        description="Latency and throughput of the HTTP model server under concurrent load.",
    )
    parser.add_argument("--requests", type=int, default=5000, help="timed requests per run")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent clients")
    parser.add_argument("--warmup", type=int, default=500, help="untimed requests first")
    parser.add_argument(
        "--batch-wait-ms",
        type=float,
        default=2.0,
        help="the server's micro-batching wait in the batched run (the other run uses 0)",
    )
    parser.add_argument(
        "--model", help="a saved DiagnosisPredictor (.kdm); default: fit one on patients.csv"
    )
    parser.add_argument("--max-epochs", type=int, default=5, help="epochs of the fitted model")
    parser.add_argument("--random-state", type=int, default=0)
    parser.add_argument(
        "--startup-timeout", type=float, default=120.0, help="seconds to wait for the server"
    )
    parser.add_argument("--json", metavar="PATH", help="also write the results as JSON")
    args = parser.parse_args(argv)
    for name in ("requests", "concurrency"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be a positive integer")
    if args.warmup < 0:
        parser.error("--warmup must be >= 0")
    if not args.batch_wait_ms > 0:
        parser.error("--batch-wait-ms must be > 0 (the unbatched run is always made too)")
    return args


def load_patients():
    frame = pd.read_csv(PATIENTS_CSV)
    # The table columns: the note and the x-ray are `multimodal_quality`'s.
    return frame.drop(columns=["patient_id", "diagnosis", "note", "xray"]), frame[
        "diagnosis"
    ].to_numpy()


def model_file(args, X, y, folder):
    """The model to serve: `--model`, or a DiagnosisPredictor fitted and saved now."""
    from domains.medical import DiagnosisPredictor

    if args.model:
        return Path(args.model), DiagnosisPredictor.load(args.model), None
    started = time.perf_counter()
    clf = DiagnosisPredictor(max_epochs=args.max_epochs, random_state=args.random_state)
    clf.fit(X, y)
    seconds = time.perf_counter() - started
    path = Path(folder) / f"{MODEL_NAME}.kdm"
    clf.save(path)
    return path, DiagnosisPredictor.load(path), seconds


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(path, port, batch_wait_ms, log, timeout):
    command = [
        sys.executable, "-m", "core.cli", "serve", f"{MODEL_NAME}={path}",
        "--host", "127.0.0.1", "--port", str(port), "--batch-wait-ms", str(batch_wait_ms),
    ]  # fmt: skip
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise SystemExit(f"the server exited with status {process.returncode}; see {log.name}")
        if time.monotonic() > deadline:
            process.kill()
            raise SystemExit(f"the server did not answer /health in {timeout:.0f} s")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                if answer.status == 200:
                    return process
        except OSError:
            time.sleep(0.2)


def stop_server(process):
    process.terminate()
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def request_bytes(port, row):
    body = json.dumps({"rows": [row]}).encode()
    head = (
        f"POST /v1/models/{MODEL_NAME}/predict HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Content-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def read_response(reader):
    """`(status, body)` of one HTTP/1.1 response with a Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    length = 0
    for line in lines[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def load(port, requests, n_requests, concurrency):
    """Sends `n_requests` requests (cycling through `requests`) from `concurrency` clients.

    Returns:
        `(latencies in s, [(request index, status, body)], wall seconds)`.
    """
    counter = iter(range(n_requests))
    latencies, answers = [], []

    async def client():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for i in counter:
                data = requests[i % len(requests)]
                started = time.perf_counter()
                writer.write(data)
                try:
                    status, body = await read_response(reader)
                except (asyncio.IncompleteReadError, ConnectionError) as error:
                    answers.append((i, None, repr(error).encode()))
                    writer.close()
                    reader, writer = await asyncio.open_connection("127.0.0.1", port)
                    continue
                latencies.append(time.perf_counter() - started)
                answers.append((i, status, body))
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return np.asarray(latencies), answers, time.perf_counter() - started


def check_answers(answers, expected):
    """`(errors, max |p - expected|)` over the answers."""
    errors, max_diff = 0, 0.0
    for i, status, body in answers:
        if status != 200:
            errors += 1
            continue
        prediction = json.loads(body)["predictions"][0]
        diff = abs(prediction["probabilities"]["1"] - expected[i % len(expected)])
        max_diff = max(max_diff, diff)
    return errors, max_diff


def run(path, rows, expected, batch_wait_ms, args, log):
    port = free_port()
    process = start_server(path, port, batch_wait_ms, log, args.startup_timeout)
    try:
        requests = [request_bytes(port, row) for row in rows]
        if args.warmup:
            asyncio.run(load(port, requests, args.warmup, args.concurrency))
        latencies, answers, wall = asyncio.run(
            load(port, requests, args.requests, args.concurrency)
        )
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/v1/models/{MODEL_NAME}") as answer:
            stats = json.load(answer).get("stats", {})
    finally:
        stop_server(process)
    errors, max_diff = check_answers(answers, expected)
    ms = latencies * 1e3 if len(latencies) else np.array([np.nan])
    return {
        "batch_wait_ms": batch_wait_ms,
        "requests": args.requests,
        "concurrency": args.concurrency,
        "errors": errors + args.requests - len(answers),
        "p50_ms": float(np.percentile(ms, 50)),
        "p90_ms": float(np.percentile(ms, 90)),
        "p99_ms": float(np.percentile(ms, 99)),
        "max_ms": float(ms.max()),
        "requests_per_s": len(latencies) / wall,
        "wall_s": wall,
        "max_abs_diff": max_diff,
        "server_stats": stats,
    }


def print_report(results):
    print()
    model = results["model"]
    fitted = "" if model["fit_seconds"] is None else f", fitted in {model['fit_seconds']:.1f} s"
    print(f"Model: DiagnosisPredictor {model['path']}{fitted}")
    print(
        f"Load: {results['runs'][0]['requests']} one-row predict requests from "
        f"{results['runs'][0]['concurrency']} concurrent keep-alive clients, after "
        f"{results['args']['warmup']} warm-up requests"
    )
    print()
    header = (
        f"{'micro-batching':<22} {'errors':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} "
        f"{'max ms':>8} {'req/s':>8} {'rows/call':>9}"
    )
    print(header)
    print("-" * len(header))
    for run_ in results["runs"]:
        wait = run_["batch_wait_ms"]
        name = f"on (wait {wait:g} ms)" if wait else "off (--batch-wait-ms 0)"
        stats = run_["server_stats"]
        calls = stats.get("model_calls") or 0
        per_call = f"{stats['predict_rows'] / calls:.1f}" if calls else "-"
        print(
            f"{name:<22} {run_['errors']:>6} {run_['p50_ms']:>8.1f} {run_['p90_ms']:>8.1f} "
            f"{run_['p99_ms']:>8.1f} {run_['max_ms']:>8.1f} {run_['requests_per_s']:>8.0f} "
            f"{per_call:>9}"
        )
    print()
    target = results["target"]
    verdict = "PASS" if target["passed"] else "FAIL"
    print(
        f"micro-batching on: {target['errors']} errors, p99 {target['p99_ms']:.1f} ms "
        f"(target: 0 errors, p99 < {TARGET_P99_MS:.0f} ms)  {verdict}"
    )
    agree = "PASS" if results["agreement"]["passed"] else "FAIL"
    print(
        f"agreement: max |p(server) - p(predict_proba)| = "
        f"{results['agreement']['max_abs_diff']:.2e} (tolerance {AGREEMENT_TOLERANCE:g})  {agree}"
    )


def main(argv=None):
    args = parse_args(argv)
    X, y = load_patients()
    with tempfile.TemporaryDirectory(prefix="serve_load_") as folder:
        path, clf, fit_seconds = model_file(args, X, y, folder)
        rows = json.loads(X.to_json(orient="records"))
        expected = clf.predict_proba(X)[:, 1]
        log_path = Path(folder) / "server.log"
        with open(log_path, "w") as log:
            runs = [
                run(path, rows, expected, wait, args, log) for wait in (args.batch_wait_ms, 0.0)
            ]
    batched = runs[0]
    max_diff = max(r["max_abs_diff"] for r in runs)
    results = {
        "benchmark": "serve_load",
        "model": {"path": str(args.model or "fitted"), "fit_seconds": fit_seconds},
        "runs": runs,
        "target": {
            "errors": batched["errors"],
            "p99_ms": batched["p99_ms"],
            "p99_target_ms": TARGET_P99_MS,
            "passed": bool(batched["errors"] == 0 and batched["p99_ms"] < TARGET_P99_MS),
        },
        "agreement": {
            "max_abs_diff": max_diff,
            "tolerance": AGREEMENT_TOLERANCE,
            "passed": bool(max_diff < AGREEMENT_TOLERANCE),
        },
        "environment": {
            "python": platform.python_version(),
            "cpu_count": os.cpu_count(),
            "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        },
        "args": vars(args),
    }
    print_report(results)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nwrote {args.json}")
    return 0 if results["target"]["passed"] and results["agreement"]["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
