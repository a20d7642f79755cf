"""Run each measurement in its own processes and collect the numbers (used by ``__main__``)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyperf

from . import configs, peers, servers

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@dataclass
class Options:
    rounds: int = 6
    values: int = 10  # per process; the CPU figures take each process's least value
    chat_loops: int = 100
    stream_loops: int = 8
    latency_loops: int = 10  # calls per value to the 20 ms model (each waits for it)
    configs: tuple[str, ...] = configs.CONFIGS  # the overhead configurations run
    volume_calls: int = 1000
    memory_calls: int = 100_000
    memory_every: int = 10_000
    tooling_stack: str = "dev"
    instruction_calls: tuple[int, int] = (20, 120)  # the two runs' calls (their difference counts)
    work: Path = REPO / "build" / "bench"


@dataclass
class Results:
    # timings[regime][config][benchmark] = per round, the process CPU seconds-per-call values
    # of that round (every thread, the export included); threads[...] the same for the calling
    # thread's CPU alone (export excluded): what a request waits for
    timings: dict[str, dict[str, dict[str, list[list[float]]]]] = field(default_factory=dict)
    threads: dict[str, dict[str, dict[str, list[list[float]]]]] = field(default_factory=dict)
    # walls[regime][config][benchmark] = per round, wall seconds per call of each value
    walls: dict[str, dict[str, dict[str, list[list[float]]]]] = field(default_factory=dict)
    # latency[regime][config] = per round, wall-clock seconds per call to the 20 ms model minus
    # the time that model really slept (bench.overhead's chat-20ms)
    latency: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)
    # sampled[regime][config] = [spans the sampler kept, calls made] over that regime's runs
    sampled: dict[str, dict[str, list[int]]] = field(default_factory=dict)
    volume: dict[str, dict[str, Any]] = field(default_factory=dict)
    volume_prod: dict[str, dict[str, Any]] = field(default_factory=dict)  # the prod sampler's
    memory: dict[str, Any] = field(default_factory=dict)
    tooling: dict[str, Any] = field(default_factory=dict)
    profile: dict[str, Any] = field(default_factory=dict)
    genai_sampling: dict[str, list[float]] = field(default_factory=dict)  # config -> s/span
    # instructions[regime][config] = instructions per call (bench.instructions); or
    # {"error": why not measured}
    instructions: dict[str, Any] = field(default_factory=dict)
    load: list[tuple[float, float, float]] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)
    started: str = ""  # UTC, when the run began ("YYYY-MM-DD HH:MM")


def _run(
    cmd: list[str], timeout: float, what: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed (exit {proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


def timings(srv: servers.Servers, opts: Options, res: Results) -> None:
    """pyperf in a fresh process per regime, configuration and round, interleaved: each round
    runs every configuration of both regimes (rotated), so load drift hits all alike."""
    order = [(regime, cfg) for regime in configs.REGIMES for cfg in opts.configs]
    for r in range(opts.rounds):
        rotated = order[r % len(order) :] + order[: r % len(order)]
        for regime, cfg in rotated:
            path = opts.work / f"overhead-{regime}-{cfg}-r{r}.json"
            side = opts.work / f"overhead-{regime}-{cfg}-r{r}-side.json"
            path.unlink(missing_ok=True)
            cmd = [
                sys.executable, "-m", "bench.overhead", "--config", cfg, "--regime", regime,
                "--standin", srv.standin_url, "--ingest", srv.ingest_url,
                "--in-process", "--processes", "1", "--values", str(opts.values),
                "--warmups", "1", "--loops", str(opts.chat_loops),
                "--loops-stream", str(opts.stream_loops),
                "--loops-latency", str(opts.latency_loops),
                "--quiet", "-o", str(path), "--side-out", str(side),
            ]  # fmt: skip
            if regime != configs.ALL:
                cmd.append("--no-stream")  # per-chunk work does not depend on sampling
            _run(
                cmd,
                timeout=300,
                what=f"pyperf overhead {regime} {cfg}",
                env=peers.env(configs.PEER_ENV.get(cfg)),
            )
            extra = json.loads(side.read_text(encoding="utf-8"))
            for bench in pyperf.BenchmarkSuite.load(str(path)).get_benchmarks():
                full = bench.get_name()
                name = full.split(":", 1)[1]
                res.timings.setdefault(regime, {}).setdefault(cfg, {}).setdefault(name, []).append(
                    list(bench.get_values())
                )
                res.threads.setdefault(regime, {}).setdefault(cfg, {}).setdefault(name, []).append(
                    extra["thread"].get(full, [])
                )
                res.walls.setdefault(regime, {}).setdefault(cfg, {}).setdefault(name, []).append(
                    extra["wall"].get(full, [])
                )
            for full, values in extra.get("latency", {}).items():
                res.latency.setdefault(regime, {}).setdefault(full.split(":", 1)[0], []).append(
                    values
                )
            counts = res.sampled.setdefault(regime, {}).setdefault(cfg, [0, 0])
            counts[0] += extra["sampled"]
            counts[1] += extra["calls"]
        srv.clear()
        print(f"bench: overhead round {r + 1}/{opts.rounds} done", file=sys.stderr, flush=True)


def _table_of(env: dict[str, Any]) -> str:
    base = env.get("data", {}).get("baseType", "?")
    return str(base)


def volume(srv: servers.Servers, opts: Options, res: Results) -> None:
    """Bytes at the ingestion endpoint for the same N calls under each configuration, every
    trace kept; then under the prod sampler for llm_insights and the peers."""
    runs = [(configs.ALL, cfg) for cfg in configs.VOLUME_CONFIGS]
    runs += [(configs.PROD, cfg) for cfg in (configs.LLM_INSIGHTS, *configs.PEERS)]
    for regime, cfg in runs:
        srv.clear()
        _run(
            [
                sys.executable, "-m", "bench.volume", "--config", cfg,
                "--calls", str(opts.volume_calls), "--regime", regime,
                "--standin", srv.standin_url, "--ingest", srv.ingest_url,
            ],
            timeout=300,
            what=f"volume {cfg}",
            env=peers.env(configs.PEER_ENV.get(cfg)),
        )  # fmt: skip
        stats = srv.stats(with_envelopes=True)
        envelopes = stats.pop("envelopes")
        by_type: dict[str, int] = {}
        bytes_by_type: dict[str, int] = {}
        raw = 0
        sample_span = next((e for e in envelopes if _table_of(e) == "RemoteDependencyData"), None)
        for env in envelopes:
            t = _table_of(env)
            size = len(json.dumps(env, separators=(",", ":")).encode())
            by_type[t] = by_type.get(t, 0) + 1
            bytes_by_type[t] = bytes_by_type.get(t, 0) + size
            raw += size
        into = res.volume if regime == configs.ALL else res.volume_prod
        into[cfg] = {
            "calls": opts.volume_calls,
            "wire_bytes": stats["bytes_received"],
            "requests": stats["track_requests"],
            "items": stats["items_accepted"],
            "json_bytes": raw,
            "by_type": dict(sorted(by_type.items())),
            "json_bytes_by_type": dict(sorted(bytes_by_type.items())),
            "sample_span": sample_span,
        }
        sent = stats["bytes_received"]
        print(f"bench: volume {regime} {cfg}: {sent} B", file=sys.stderr, flush=True)
    srv.clear()


def memory(srv: servers.Servers, opts: Options, res: Results) -> None:
    """RSS of a process making memory_calls instrumented calls (ingest cleared meanwhile)."""
    cmd = [
        sys.executable, "-m", "bench.memory", "--calls", str(opts.memory_calls),
        "--every", str(opts.memory_every), "--ingest", srv.ingest_url,
    ]  # fmt: skip
    start = time.monotonic()
    with subprocess.Popen(
        cmd, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        while proc.poll() is None:
            time.sleep(2)
            srv.clear()  # the endpoint keeps envelopes; it is not what is measured
            if time.monotonic() - start > 600:
                proc.kill()
                raise RuntimeError("memory benchmark took longer than 10 minutes")
        stdout, stderr = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"memory benchmark failed (exit {proc.returncode}):\n{stderr[-4000:]}")
    data = json.loads(stdout.strip().splitlines()[-1])
    res.memory = {
        "rss": {int(k): v for k, v in data["rss"].items()},
        "seconds": time.monotonic() - start,
        "calls": opts.memory_calls,
    }
    srv.clear()


def _pyperf_command(name: str, command: list[str], opts: Options, timeout: float) -> dict:
    path = opts.work / f"tool-{name}.json"
    path.unlink(missing_ok=True)
    cmd = [
        sys.executable, "-m", "pyperf", "command", "--processes", "1", "--values", "1",
        "--warmups", "0", "--loops", "1", "--quiet", "--name", name, "-o", str(path), "--",
        *command,
    ]  # fmt: skip
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0 or not path.exists():
        return {"error": f"exit {proc.returncode}: {(proc.stderr or proc.stdout)[-600:]}"}
    bench = pyperf.Benchmark.load(str(path))
    return {"seconds": bench.median()}


def tooling(opts: Options, res: Results) -> None:
    """Wall time of the kit's own tooling (one run each: they take tens of seconds)."""
    cli = str(BIN / "llm-insights")
    out = opts.work / "render"
    res.tooling["render"] = _pyperf_command(
        "render", [cli, "render", "--stack", opts.tooling_stack, "--out", str(out)], opts, 300
    )
    res.tooling["lint"] = _pyperf_command(
        "lint", [cli, "lint", "--stack", opts.tooling_stack], opts, 300
    )
    res.tooling["pulumi_mocks"] = _pyperf_command(
        "pulumi-mock-suite",
        [str(BIN / "pytest"), "-q", "-m", "pulumi", "tests/infra", "-p", "no:cacheprovider"],
        opts,
        600,
    )


def genai_sampling(opts: Options, res: Results) -> None:
    """CPU per GenAI span the sampler drops, recorded for metrics or not (bench.genai_sampling)."""
    rounds = max(1, min(opts.rounds, 7))
    proc = _run(
        [sys.executable, "-m", "bench.genai_sampling", "--json", "--rounds", str(rounds)],
        timeout=600,
        what="genai_sampling",
    )
    res.genai_sampling = json.loads(proc.stdout.strip().splitlines()[-1])


def profile(srv: servers.Servers, res: Results) -> None:
    """cProfile of llm_insights' calls in a child process: where its time goes."""
    proc = _run(
        [
            sys.executable, "-m", "bench.profile",
            "--standin", srv.standin_url, "--ingest", srv.ingest_url,
        ],
        timeout=300,
        what="profile",
    )  # fmt: skip
    res.profile = json.loads(proc.stdout.strip().splitlines()[-1])
    proc = _run(
        [
            sys.executable, "-m", "bench.profile", "--emit",
            "--standin", srv.standin_url, "--ingest", srv.ingest_url,
        ],
        timeout=300,
        what="profile (emit thread)",
    )  # fmt: skip
    res.profile.update(json.loads(proc.stdout.strip().splitlines()[-1]))
    srv.clear()


#: The configurations whose instructions are counted (the kit, the peers it is held to, and the
#: two references), when the run includes them.
INSTRUCTION_CONFIGS = (configs.BASELINE, configs.FLOOR, configs.LLM_INSIGHTS, *configs.PEERS)
_COLLECTED = re.compile(r"Collected : (\d+)")


def _count_instructions(cfg: str, regime: str, calls: int, ingest: str) -> int:
    cmd = [
        "valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
        sys.executable, "-m", "bench.instructions", "--config", cfg, "--regime", regime,
        "--calls", str(calls), "--ingest", ingest,
    ]  # fmt: skip
    env = peers.env(configs.PEER_ENV.get(cfg)) or dict(os.environ)
    env["PYTHONHASHSEED"] = "0"  # the same dict and set layouts in every run
    proc = _run(cmd, timeout=1200, what=f"callgrind {regime} {cfg}", env=env)
    found = _COLLECTED.search(proc.stderr)
    if not found:
        raise RuntimeError(f"callgrind {regime} {cfg}: no instruction count in its output")
    return int(found.group(1))


def instructions(srv: servers.Servers, opts: Options, res: Results) -> None:
    """Instructions per call under callgrind (``bench.instructions``), both regimes, the runs
    spread over the cores (each is single-threaded under valgrind)."""
    if shutil.which("valgrind") is None:
        res.instructions = {"error": "valgrind is not installed (apt install valgrind)"}
        return
    n1, n2 = opts.instruction_calls
    chosen = [cfg for cfg in INSTRUCTION_CONFIGS if cfg in opts.configs]
    jobs = [(r, cfg, n) for r in (configs.ALL, configs.DROPPED) for cfg in chosen for n in (n1, n2)]
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        counts = list(
            pool.map(lambda j: _count_instructions(j[1], j[0], j[2], srv.ingest_url), jobs)
        )
    got = dict(zip(jobs, counts, strict=True))
    for regime, cfg, _ in jobs:
        per_call = (got[(regime, cfg, n2)] - got[(regime, cfg, n1)]) / (n2 - n1)
        res.instructions.setdefault(regime, {})[cfg] = per_call
    srv.clear()


def load_now(res: Results) -> None:
    res.load.append(os.getloadavg())
