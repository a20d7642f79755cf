"""``bench/RESULTS.md`` from the collected numbers: ratios with medians and spread (IQR)."""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
from importlib import metadata
from typing import Any

from . import configs, servers
from .runner import Options, Results
from .stats import Summary, paired, ratio, summary

#: Log Analytics (Analytics plan) pay-as-you-go ingestion, USD per GB (10^9 bytes); regional
#: list prices differ: pass ``--usd-per-gb`` for yours.
DEFAULT_USD_PER_GB = 2.30
FLOOR_TARGET = 1.5
_SPAN_TYPE = "RemoteDependencyData"  # the envelope of a CLIENT span
_PACKAGES = (
    "llm-insights",
    "openai",
    "opentelemetry-sdk",
    "azure-monitor-opentelemetry-exporter",
    "opentelemetry-instrumentation-openai-v2",
    "opentelemetry-instrumentation-openai",
    "pyperf",
)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.0f} µs"


def _spread_us(s: Summary) -> str:
    return f"{s.median * 1e6:,.0f} µs ({s.low * 1e6:,.0f} … {s.high * 1e6:,.0f})"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def _versions() -> str:
    out = []
    for name in _PACKAGES:
        try:
            out.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            out.append(f"{name} (missing)")
    return ", ".join(out) + f", Python {platform.python_version()}"


def _per_chunk_rounds(res: Results, cfg: str) -> list[list[float]]:
    extra = servers.LONG_CHUNKS - servers.SHORT_CHUNKS
    t = res.timings[cfg]
    return [
        [(statistics.median(lo) - statistics.median(sh)) / extra]
        for lo, sh in zip(t["stream-long"], t["stream-short"], strict=True)
    ]


def _revision() -> str:
    """The commit measured, and whether the SDK had uncommitted changes."""
    import subprocess

    from .runner import REPO

    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "sdk/src"],
            cwd=REPO,
            capture_output=True,
            text=True,
        ).stdout.strip()
    except OSError:
        return "unknown"
    return f"{head}{' + uncommitted SDK changes' if dirty else ''}" if head else "unknown"


def overhead_section(res: Results, opts: Options, verdicts: list[str]) -> list[str]:
    if not res.timings:
        return []
    rounds = {cfg: res.timings[cfg]["chat"] for cfg in configs.CONFIGS}
    base = rounds[configs.BASELINE]
    added = {cfg: paired(rounds[cfg], base) for cfg in rounds if cfg != configs.BASELINE}
    floor = added[configs.FLOOR].median
    li = summary([v for r in rounds[configs.LLM_INSIGHTS] for v in r]).median
    lines = [
        "## Overhead per LLM call (non-streaming chat, HTTP to a zero-latency loopback stand-in)",
        "",
        "| configuration | CPU per call, median (IQR) | added over baseline, median (IQR) "
        "| added ÷ floor's added | llm_insights CPU ÷ this | wall per call, median |",
        "|---|---|---|---|---|---|",
    ]
    for cfg in configs.CONFIGS:
        s = summary([v for r in rounds[cfg] for v in r])
        cell = f"{s.median * 1e3:.3f} ms ({s.low * 1e3:.3f} … {s.high * 1e3:.3f})"
        walls = res.walls.get(cfg, {}).get("chat") or [float("nan")]
        wall = f"{statistics.median(walls) * 1e3:.3f} ms"
        if cfg == configs.BASELINE:
            lines.append(f"| {cfg} | {cell} | — | — | {_x(ratio(li, s.median))} | {wall} |")
            continue
        a = added[cfg]
        lines.append(
            f"| {configs.label(cfg)} | {cell} | {_spread_us(a)} | {_x(ratio(a.median, floor))} "
            f"| {_x(ratio(li, s.median))} | {wall} |"
        )
    n = sum(len(r) for r in base)
    lines += [
        "",
        f"{opts.rounds} rounds x {opts.values} values x {opts.chat_loops} calls per configuration "
        f"({n} values each, every value the mean of {opts.chat_loops} calls, after one warm-up "
        "value). Each configuration runs in a fresh process per round (pyperf `--in-process` "
        "inside it), configurations interleaved round by round; 'added' is the per-round "
        "difference of medians with the baseline, so machine-load drift cancels. The timer is "
        "the app process's CPU time (all threads), and each value ends by exporting the spans "
        "and log records its calls queued (force_flush inside the timed region), so the "
        "exporter's per-span work — converting and serializing each span, ~0.6 ms with the "
        "Azure Monitor exporter — counts for every configuration; metrics are exported once per "
        "interval whatever the call rate, so they are left out. Wall time is shown for "
        "reference but on a shared 2-core machine it mostly measures the scheduler.",
        "",
    ]
    li_added = added[configs.LLM_INSIGHTS].median
    fr = ratio(li_added, floor)
    ok_floor = fr is not None and fr <= FLOOR_TARGET
    verdicts.append(
        f"- Overhead within {FLOOR_TARGET}x of the hand-written floor: "
        f"**{'met' if ok_floor else 'MISSED'}** ({_x(fr)}: {_us(li_added)} vs {_us(floor)} CPU "
        "per call)."
    )
    for peer in configs.PEERS:
        d = paired(rounds[configs.LLM_INSIGHTS], rounds[peer])
        ok = d.median <= 0
        verdicts.append(
            f"- No slower than `{peer}`: **{'met' if ok else 'MISSED'}** (llm_insights - {peer} "
            f"= {_spread_us(d)} CPU per call)."
        )
    if configs.EQUIVALENT in added:
        eq = added[configs.EQUIVALENT].median
        logic = paired(rounds[configs.LLM_INSIGHTS], rounds[configs.EQUIVALENT])
        verdicts.append(
            "- For information, not a target: the same telemetry written by hand "
            f"(`{configs.EQUIVALENT}`) adds {_us(eq)} ({_x(ratio(eq, floor))} the floor's); "
            f"llm_insights adds {_x(ratio(li_added, eq))} of that, i.e. its own logic costs "
            f"llm_insights - {configs.EQUIVALENT} = {_spread_us(logic)} CPU per call, and the "
            f"telemetry it emits beyond the floor {_us(eq - floor)}."
        )
    return lines


def stream_section(res: Results, opts: Options, verdicts: list[str]) -> list[str]:
    if not res.timings:
        return []
    extra = servers.LONG_CHUNKS - servers.SHORT_CHUNKS
    base = _per_chunk_rounds(res, configs.BASELINE)
    lines = [
        "## Streaming: added time per chunk over un-instrumented iteration",
        "",
        f"| configuration | CPU per {servers.LONG_CHUNKS}-chunk stream, median "
        f"| CPU per {servers.SHORT_CHUNKS}-chunk stream, median "
        "| added per chunk, median (IQR over rounds) |",
        "|---|---|---|---|",
    ]
    per: dict[str, Summary] = {}
    for cfg in configs.STREAM_CONFIGS:
        lo = summary([v for r in res.timings[cfg]["stream-long"] for v in r])
        sh = summary([v for r in res.timings[cfg]["stream-short"] for v in r])
        head = f"| {cfg} | {lo.median * 1e3:.3f} ms | {sh.median * 1e3:.3f} ms"
        if cfg == configs.BASELINE:
            lines.append(f"{head} | — |")
            continue
        per[cfg] = paired(_per_chunk_rounds(res, cfg), base)
        lines.append(f"{head} | {_spread_us(per[cfg])} |")
    lines += [
        "",
        f"Per-chunk cost = (CPU of a {servers.LONG_CHUNKS}-chunk stream - CPU of a "
        f"{servers.SHORT_CHUNKS}-chunk stream) ÷ {extra}, minus the same for the baseline, per "
        "round, so the per-call cost cancels out. llm_insights asks for "
        "`stream_options.include_usage` (one extra usage chunk per stream, hidden from the app); "
        "that is counted. llm_insights runs with its defaults: the per-chunk "
        "`gen_ai.client.operation.time_per_output_chunk` records are opt-in "
        "(`configure(chunk_metrics=True)`), each one a histogram record in the OpenTelemetry "
        f"SDK. {opts.stream_loops} streams per value. `{configs.EQUIVALENT}` is "
        "non-streaming only, so it has no row here.",
        "",
    ]
    li = per[configs.LLM_INSIGHTS].median
    best = min(per[p].median for p in configs.PEERS)
    worst = max(per[p].median for p in configs.PEERS)
    verdicts.append(
        f"- Streaming: llm_insights adds {_us(li)} CPU per chunk; peers {_us(best)} … "
        f"{_us(worst)} ({'no slower than any peer' if li <= best else 'slower than a peer'})."
    )
    return lines


def volume_section(res: Results, usd_per_gb: float, verdicts: list[str]) -> list[str]:
    if not res.volume:
        return []
    lines = [
        "## Telemetry volume per 1,000 calls (same Azure Monitor exporter, loopback ingestion)",
        "",
        "| configuration | envelopes (by type) | bytes sent by the exporter | compact JSON "
        "| compact JSON per span "
        f"| USD per 1M LLM calls at ${usd_per_gb:.2f}/GB |",
        "|---|---|---|---|---|---|",
    ]
    usd: dict[str, float] = {}
    for cfg, v in res.volume.items():
        k = 1000 / v["calls"]
        types = ", ".join(f"{n} {t.replace('Data', '')}" for t, n in v["by_type"].items())
        usd[cfg] = v["wire_bytes"] / v["calls"] * 1e6 / 1e9 * usd_per_gb
        spans = v["by_type"].get(_SPAN_TYPE)
        span_bytes = v.get("json_bytes_by_type", {}).get(_SPAN_TYPE)
        per_span = f"{span_bytes / spans:,.0f} B" if spans and span_bytes else "n/a"
        lines.append(
            f"| {configs.label(cfg)} | {types} | {v['wire_bytes'] * k / 1024:,.1f} KiB "
            f"| {v['json_bytes'] * k / 1024:,.1f} KiB | {per_span} | ${usd[cfg]:,.2f} |"
        )
    lines += [
        "",
        "Every call sampled (sampler at 100 %), metrics exported once at the end (one export "
        "interval's worth). The exporter (azure-monitor-opentelemetry-exporter 1.0.0b58) posts "
        "uncompressed JSON; 'compact JSON' re-serializes the same envelopes without whitespace. "
        "USD uses the bytes sent, an upper bound: Log Analytics "
        "bills the stored columns, typically about 25 % less than the incoming JSON "
        "(Azure Monitor Logs cost calculations); ingestion is billed per GB = 10^9 bytes. With "
        "the distro's default rate-limited sampler (5 traces/s) span volume is capped; metrics "
        "are never sampled.",
        "",
    ]
    li = usd.get(configs.LLM_INSIGHTS)
    peers = {p: usd[p] for p in (configs.OPENAI_V2, configs.TRACELOOP, configs.TRACELOOP_NOCONTENT)}
    if li is not None:
        lean = all(li <= u for u in peers.values())
        verdicts.append(
            f"- Leanest telemetry: **{'met' if lean else 'MISSED'}** (llm_insights ${li:,.2f} per "
            "1M calls; "
            + ", ".join(f"{p} ${u:,.2f}" for p, u in peers.items())
            + f"; hand-written floor ${usd[configs.FLOOR]:,.2f})."
        )
    eq = res.volume.get(configs.EQUIVALENT)
    mine = res.volume.get(configs.LLM_INSIGHTS)
    if eq and mine:
        verdicts.append(
            "- For information: llm_insights' bytes ÷ the same telemetry by hand "
            f"(`{configs.EQUIVALENT}`) = {_x(ratio(mine['wire_bytes'], eq['wire_bytes']))} "
            "(the volume is the telemetry's, not the SDK's way of emitting it)."
        )
    return lines


def memory_section(res: Results, verdicts: list[str]) -> list[str]:
    m = res.memory
    if not m:
        return []
    rss = m["rss"]
    marks = sorted(rss)
    first, last = marks[0], marks[-1]
    mid = marks[len(marks) // 4] if len(marks) > 4 else first
    growth = rss[last] - rss[mid]
    per_10k = growth / max(1, (last - mid)) * 10_000
    lines = [
        f"## Memory: resident set over {m['calls']:,} instrumented calls (llm_insights)",
        "",
        "| calls | " + " | ".join(f"{k:,}" for k in marks) + " |",
        "|---|" + "---|" * len(marks),
        "| RSS MiB | " + " | ".join(f"{rss[k] / 2**20:.1f}" for k in marks) + " |",
        "",
        f"Growth from {mid:,} to {last:,} calls: {growth / 2**20:+.2f} MiB "
        f"({per_10k / 1024:+.1f} KiB per 10k calls); {m['seconds']:.0f} s. Every call had a new "
        "user id, session id and response id and one of 500 model names; every 20th call went "
        "through the instrumented openai client (in-process HTTP transport), the others through "
        "`llm_insights.llm_call()` (the same recording path); trace sampling 10 %, metrics "
        "exported every 5 s to the loopback endpoint.",
        "",
    ]
    flat = growth < 4 * 2**20
    verdicts.append(
        f"- Memory flat after warm-up: **{'met' if flat else 'MISSED'}** "
        f"({growth / 2**20:+.2f} MiB from {mid:,} to {last:,} calls; threshold 4 MiB)."
    )
    return lines


def profile_section(res: Results) -> list[str]:
    prof = res.profile
    if not prof:
        return []
    lines = [
        "## Where llm_insights' time goes (cProfile, self time)",
        "",
        "cProfile inflates many small calls, so read shares, not absolute times. The 'app, "
        "openai client, HTTP' share is what the baseline pays too.",
        "",
    ]
    for key, title in (
        ("chat", "non-streaming calls"),
        ("stream", f"{servers.LONG_CHUNKS}-chunk streams"),
    ):
        p = prof[key]
        total = p["total"] or 1.0
        lines += [
            f"**{title}** ({p['calls']} profiled):",
            "",
            "| component | share of self time |",
            "|---|---|",
            *(f"| {k} | {v / total:.0%} |" for k, v in p["by_component"].items()),
            "",
            "| instrumentation function | share | calls per LLM call |",
            "|---|---|---|",
            *(
                f"| `{f['function']}` | {f['seconds'] / total:.1%} | {f['per_call']:.1f} |"
                for f in p["top"]
            ),
            "",
        ]
    return lines


def genai_sampling_section(res: Results) -> list[str]:
    """What recording unsampled GenAI spans for metrics costs (``bench/genai_sampling.py``)."""
    data = res.genai_sampling
    if not data:
        return []
    med = {k: statistics.median(v) for k, v in data.items()}
    lines = [
        "## Sampling-proof GenAI metrics",
        "",
        "A foreign instrumentation's chat span under a sampler that drops it "
        "(`python -m bench.genai_sampling`, CPU per span, median of "
        f"{len(data['dropped'])} rounds, no exporter):",
        "",
        "| configuration | CPU per span |",
        "|---|---|",
        f"| dropped (no kit: a non-recording span) | {_us(med['dropped'])} |",
        f"| recorded for metrics (kit: RECORD_ONLY + span processor) | {_us(med['recorded'])} |",
        f"| sampled, with the kit's processor (before the exporter) | {_us(med['sampled'])} |",
        "",
        f"Added per call the sampler drops: {_us(med['recorded'] - med['dropped'])}.",
        "",
    ]
    return lines


def tooling_section(res: Results, opts: Options) -> list[str]:
    if not res.tooling:
        return []

    def cell(v: dict[str, Any]) -> str:
        return f"{v['seconds']:.1f} s" if "seconds" in v else f"failed: {v['error']}"

    t = res.tooling
    return [
        "## Kit tooling (wall time, one run each)",
        "",
        "| task | time |",
        "|---|---|",
        f"| `llm-insights render --stack {opts.tooling_stack}` (every workbook and rule) "
        f"| {cell(t['render'])} |",
        f"| `llm-insights lint --stack {opts.tooling_stack}` (Kusto language service over every "
        f"query, workbook lint, rule validation) | {cell(t['lint'])} |",
        f"| Pulumi mock suite (`pytest -m pulumi tests/infra`) | {cell(t['pulumi_mocks'])} |",
        "",
    ]


def render(res: Results, opts: Options, usd_per_gb: float) -> str:
    verdicts: list[str] = []
    body: list[str] = []
    body += overhead_section(res, opts, verdicts)
    body += stream_section(res, opts, verdicts)
    body += volume_section(res, usd_per_gb, verdicts)
    body += memory_section(res, verdicts)
    body += profile_section(res)
    body += genai_sampling_section(res)
    body += tooling_section(res, opts)
    load = ", ".join(f"{a:.1f}" for a, _, _ in res.load)
    head = [
        "# Benchmark results",
        "",
        f"Measured {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `make bench` "
        f"(`python -m bench`), total {sum(res.seconds.values()):.0f} s.",
        "",
        f"- Machine: {_machine()}.",
        f"- Revision: {_revision()}.",
        f"- Software: {_versions()}.",
        f"- 1-minute load average at each phase: {load} (other work shared the machine; "
        "interleaved rounds and paired differences are how the comparison copes).",
        "- Configurations: `baseline` (no telemetry), `floor` (one span + the two GenAI "
        "histograms by hand), `equivalent` (same telemetry by hand: exactly the span "
        "attributes and metric measurements llm_insights emits for a non-streaming call, "
        "written by hand; information, not a target), `llm_insights`, `openai_v2` "
        "(opentelemetry-instrumentation-openai-v2), `traceloop` "
        "(opentelemetry-instrumentation-openai, OpenLLMetry; records content by default), "
        "all with the same providers and Azure Monitor exporters (see `bench/configs.py`).",
        "",
        "## Targets",
        "",
        *verdicts,
        "",
    ]
    return "\n".join(head + body).rstrip() + "\n"
