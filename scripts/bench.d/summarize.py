#!/usr/bin/env python3
"""Summarize one `scripts/bench` results directory against the issue targets.

    summarize.py .cache/bench/results/<stamp>

Reads whatever sections are present and prints Markdown. Sizes: kB from
/proc and GNU time are KiB; "MB" here is 10^6 bytes (the targets' unit),
"MiB" is 2^20.
"""

from __future__ import annotations

import json
import re
import statistics
import sys
from pathlib import Path

D = Path(sys.argv[1])


def ok(cond: bool) -> str:
    return "**met**" if cond else "**MISSED**"


def mb(kib: float) -> float:
    return kib * 1024 / 1e6


def load_lines() -> None:
    f = D / "load.txt"
    if f.exists():
        print("Load average (1/5/15 min) around each section:\n")
        for line in f.read_text().splitlines():
            print(f"    {line}")
        print()


def hyper(name: str) -> dict[str, dict] | None:
    f = D / name
    if not f.exists():
        return None
    return {r["command"]: r for r in json.loads(f.read_text())["results"]}


def time_v(name: str) -> int | None:
    f = D / name
    if not f.exists():
        return None
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", f.read_text())
    return int(m.group(1)) if m else None


def startup() -> None:
    h = hyper("startup.json")
    if not h:
        return
    print("## startup (issue 2)\n")
    base = h["true"]["median"]
    print("| command | median | mean ± σ | overhead over `true` (median) |")
    print("|---|---|---|---|")
    for name, r in h.items():
        print(f"| {name} | {r['median'] * 1e3:.2f} ms | {r['mean'] * 1e3:.2f} ± {r['stddev'] * 1e3:.2f} ms | "
              f"{(r['median'] - base) * 1e3:+.2f} ms |")
    print()
    for name in ("run --exec (1 local secret)", "run (supervise, default flags)", "run --no-audit"):
        if name in h:
            over = (h[name]["median"] - base) * 1e3
            print(f"- target start-up overhead ≤ 5 ms, {name}: {over:.2f} ms → {ok(over <= 5)}")
    print()


def rss() -> None:
    f = D / "rss.jsonl"
    if not f.exists():
        return
    print("## rss (issues 2, 4): VmHWM of the mcp-warden process itself\n")
    print("| scenario | mcp-warden VmHWM | RssAnon / RssFile at end | child VmHWM |")
    print("|---|---|---|---|")
    worst = 0
    idle = None
    for line in f.read_text().splitlines():
        r = json.loads(line)
        m = r["mem"]
        kids = ", ".join(f"{mb(k['mem']['vm_hwm_kb']):.2f} MB" for k in r["children"] if k["mem"]) or "-"
        print(f"| {r['label']} | {m['vm_hwm_kb']} KiB = {mb(m['vm_hwm_kb']):.2f} MB | "
              f"{m['rss_anon_kb']} / {m['rss_file_kb']} KiB | {kids} |")
        worst = max(worst, m["vm_hwm_kb"])
        if r["label"].startswith("idle"):
            idle = m["vm_hwm_kb"]
    print()
    for n, label in (("rss.time-true.txt", "child `true`"), ("rss.time-cat.txt", "child `cat`, 8 MB piped"),
                     ("rss.time-fat.txt", "child python touching 64 MiB")):
        v = time_v(n)
        if v is not None:
            print(f"- `/usr/bin/time -v` \"Maximum resident set size\", {label}: {v} KiB = {mb(v):.2f} MB")
    sm = D / "rss.smaps.json"
    if sm.exists():
        j = json.loads(sm.read_text())
        parts = ", ".join(f"{k} {v} KiB" for k, v in j["rss_kb_by_mapping"].items() if v)
        print(f"- idle resident pages by mapping (binary is {j['exe_bytes'] / 1e6:.1f} MB on disk): {parts}")
        if "Pss_kb" in j:
            print(f"- idle PSS {j['Pss_kb']} KiB (anon {j.get('Pss_Anon_kb')}, file {j.get('Pss_File_kb')}); "
                  f"private dirty {j.get('Private_Dirty_kb')} KiB, private clean {j.get('Private_Clean_kb')} KiB, "
                  f"shared clean {j.get('Shared_Clean_kb')} KiB")
    p = D / "rss.parent-status.txt"
    if p.exists():
        print(f"- child reading its parent's /proc status: {' '.join(p.read_text().split())}")
    print()
    if idle is not None:
        print(f"- target supervising peak RSS ≤ 8 MB (issue 2), idle: {mb(idle):.2f} MB → {ok(mb(idle) <= 8)}")
    print(f"- target supervising peak RSS ≤ 8 MB (issue 2), worst relaying case: {mb(worst):.2f} MB → {ok(mb(worst) <= 8)}")
    print(f"- target RSS while relaying ≤ 10 MB (issue 4), worst case: {mb(worst):.2f} MB → {ok(mb(worst) <= 10)}")
    print()


def aws() -> None:
    if (D / "aws.pending").exists():
        print("## aws (issue 3)\n\nPENDING: " + (D / "aws.pending").read_text().strip() + "\n")
        return
    d = hyper("aws.direct.json")
    if not d:
        return
    dl = hyper("aws.delayed.json") or {}
    rtt = json.loads((D / "aws.rtt.json").read_text()) if (D / "aws.rtt.json").exists() else None
    print("## aws (issue 3)\n")
    reqs = {}
    if (D / "aws.requests.txt").exists():
        for line in (D / "aws.requests.txt").read_text().splitlines():
            kv = dict(x.split("=") for x in line.split())
            reqs[int(kv["secrets"])] = (int(kv["requests"]), int(kv["connections"]))
    print("| command | median | mean ± σ | HTTP requests / connections | peak RSS (VmHWM, after resolve) | /usr/bin/time -v max RSS |")
    print("|---|---|---|---|---|---|")
    dc = hyper("aws.direct-certs.json") or {}
    for label, h in (("direct", d), ("direct", dc), ("delayed", dl)):
        for name, r in h.items():
            n = int(name.split()[0]) if name[0].isdigit() and "SSL" not in name else None
            rq = f"{reqs[n][0]} / {reqs[n][1]}" if n in reqs and label == "delayed" else ""
            hwm = ""
            tv = ""
            if n is not None and "--exec" not in name:
                f = D / f"aws.rss.{label}.{n}.txt"
                if f.exists():
                    m = re.search(r"(\d+) kB", f.read_text())
                    hwm = f"{mb(int(m.group(1))):.2f} MB" if m else "?"
                t = time_v(f"aws.time.{label}.{n}.txt")
                tv = f"{mb(t):.2f} MB" if t else ""
            print(f"| {name} ({label}) | {r['median'] * 1e3:.1f} ms | {r['mean'] * 1e3:.1f} ± {r['stddev'] * 1e3:.1f} ms | {rq} | {hwm} | {tv} |")
    print()
    if rtt:
        c, w, b = rtt["cold_new_connection"], rtt["warm_keepalive"], rtt["boto3_warm"]
        print(f"- direct GetSecretValue round trip to moto: new connection median {c['median_ms']} ms "
              f"(p90 {c['p90_ms']}), kept-alive {w['median_ms']} ms, boto3 warm client {b['median_ms']} ms")
        base = d["true"]["median"] * 1e3
        one = d["1 secret"]["median"] * 1e3
        limit = base + c["median_ms"] + 10
        print(f"- target 1 secret ≤ direct + one round trip + 10 ms: {one:.1f} ms vs "
              f"{base:.2f} + {c['median_ms']} + 10 = {limit:.1f} ms → {ok(one <= limit)}")
    if "20 secrets +200ms" in dl:
        t = dl["20 secrets +200ms"]["median"] * 1e3
        print(f"- target 20 secrets behind +200 ms ≤ 450 ms: {t:.0f} ms → {ok(t <= 450)}")
    print()


def keyring() -> None:
    h = hyper("keyring.json")
    if not h:
        return
    print("## keyring (issue 16)\n")
    base = h["true"]["median"]
    print("| command | median | mean ± σ | over `true` (median) |")
    print("|---|---|---|---|")
    for name, r in h.items():
        print(f"| {name} | {r['median'] * 1e3:.1f} ms | {r['mean'] * 1e3:.1f} ± {r['stddev'] * 1e3:.1f} ms "
              f"| {(r['median'] - base) * 1e3:.1f} ms |")
    t = h["20 keychain reads"]["median"] * 1e3
    one = h["1 keychain read"]["median"] * 1e3
    print(f"\n- per additional read: {(t - one) / 19:.2f} ms")
    print(f"- target 20 keychain reads ≤ 50 ms: {t:.1f} ms → {ok(t <= 50)}\n")


def relay() -> None:
    f = D / "relay.jsonl"
    if not f.exists():
        return
    rows: dict[str, dict[str, list[dict]]] = {}
    for line in f.read_text().splitlines():
        r = json.loads(line)
        v, kind = r["label"].split("|")
        rows.setdefault(kind, {}).setdefault(v, []).append(r)
    names = {"pipe": "plain pipe (no mcp-warden)", "default": "mcp-warden, default (redact + audit)",
             "no-audit": "mcp-warden --no-audit (redact only)",
             "bare": "mcp-warden --no-audit --no-redact (no proxy: the child inherits stdio)"}
    med = lambda xs, k: statistics.median(x[k] for x in xs)  # noqa: E731
    hwm = lambda xs: max(x["mem"]["vm_hwm_kb"] for x in xs)  # noqa: E731
    print("## relay (issue 4)\n")
    n_rep = len(next(iter(rows.values()))["pipe"]) if rows else 0
    print(f"Median of {n_rep} repetitions; peak RSS is the max VmHWM of the mcp-warden process over them.\n")
    for kind, title, key, unit in (("resp1MB", "1 MB responses (server → client, the redacted direction) to small requests", "resp_mb_per_s", "MB/s"),
                                    ("req1MB", "1 MB requests (client → server) with small responses", "req_mb_per_s", "MB/s"),
                                    ("small", "small messages (~150 B each way), pipelined", "msgs_per_s", "msg/s")):
        if kind not in rows:
            continue
        print(f"**{title}**\n")
        print(f"| variant | {unit} | bytes delivered (same as pipe?) | mcp-warden VmHWM |")
        print("|---|---|---|---|")
        pipe_bytes = med(rows[kind]["pipe"], "resp_bytes_total")
        for v, xs in rows[kind].items():
            same = "yes" if all(x["resp_bytes_total"] == pipe_bytes for x in xs) else "NO"
            h = f"{mb(hwm(xs)):.2f} MB" if v != "pipe" else "-"
            val = med(xs, key)
            print(f"| {names[v]} | {val:,.0f} | {pipe_bytes:,} ({same}) | {h} |")
        print()
    if "lat" in rows:
        print("**round-trip latency, one small request at a time** (20,000 samples after 2,000 warm-up)\n")
        print("| variant | p50 | p90 | p99 | added p50 | added p99 | mcp-warden VmHWM |")
        print("|---|---|---|---|---|---|---|")
        p = rows["lat"]["pipe"]
        for v, xs in rows["lat"].items():
            h = f"{mb(hwm(xs)):.2f} MB" if v != "pipe" else "-"
            print(f"| {names[v]} | {med(xs, 'p50_us'):.1f} µs | {med(xs, 'p90_us'):.1f} µs | {med(xs, 'p99_us'):.1f} µs | "
                  f"{med(xs, 'p50_us') - med(p, 'p50_us'):+.1f} µs | {med(xs, 'p99_us') - med(p, 'p99_us'):+.1f} µs | {h} |")
        print()
    if "resp1MB" in rows and "default" in rows["resp1MB"]:
        v = med(rows["resp1MB"]["default"], "resp_mb_per_s")
        print(f"- target ≥ 500 MB/s with 1 MB messages, redaction on (default flags): {v:,.0f} MB/s → {ok(v >= 500)}")
        if "no-audit" in rows["resp1MB"]:
            v2 = med(rows["resp1MB"]["no-audit"], "resp_mb_per_s")
            print(f"  (--no-audit, redaction only: {v2:,.0f} MB/s → {ok(v2 >= 500)})")
    if "small" in rows and "default" in rows["small"]:
        v = med(rows["small"]["default"], "msgs_per_s")
        print(f"- target ≥ 200,000 small messages/s, redaction on (default flags): {v:,.0f} → {ok(v >= 200_000)}")
        if "no-audit" in rows["small"]:
            v2 = med(rows["small"]["no-audit"], "msgs_per_s")
            print(f"  (--no-audit, redaction only: {v2:,.0f} → {ok(v2 >= 200_000)})")
    if "lat" in rows and "default" in rows["lat"]:
        a = med(rows["lat"]["default"], "p50_us") - med(rows["lat"]["pipe"], "p50_us")
        print(f"- target added p50 latency ≤ 50 µs (default flags): {a:+.1f} µs → {ok(a <= 50)}")
    worst = max((hwm(xs) for kind in rows.values() for v, xs in kind.items() if v != "pipe"), default=0)
    if worst:
        print(f"- target RSS ≤ 10 MB while relaying: worst VmHWM {mb(worst):.2f} MB → {ok(mb(worst) <= 10)}")
    print()


def mcp() -> None:
    f = D / "mcp.json"
    if not f.exists():
        return
    r = json.loads(f.read_text())
    print(f"## mcp (issue 4): server-everything spawn + initialize + tools/list, {r['runs']} interleaved runs\n")
    print("| variant | tools | ready (median / p90) | ratio | incl. shutdown (median) | ratio |")
    print("|---|---|---|---|---|---|")
    for lab, v in r["variants"].items():
        print(f"| {lab} | {v['tools']} | {v['ready_ms']['median']:.1f} / {v['ready_ms']['p90']:.1f} ms | "
              f"{v['ready_ratio_vs_first']:.3f}× | {v['total_ms']['median']:.1f} ms | {v['total_ratio_vs_first']:.3f}× |")
    print()
    h = hyper("mcp.hyperfine.json")
    if h:
        for name, x in h.items():
            print(f"- hyperfine `{name}` (incl. Python start-up): median {x['median'] * 1e3:.0f} ms")
    if "mcp-warden" in r["variants"]:
        ratio = r["variants"]["mcp-warden"]["ready_ratio_vs_first"]
        print(f"- target spawn + initialize + tools/list ≤ 1.1× direct: {ratio:.3f}× → {ok(ratio <= 1.1)}")
    print()


m = D / "machine.txt"
if m.exists():
    print("# mcp-warden benchmark summary\n")
    for line in m.read_text().splitlines():
        print(f"    {line}")
    print()
load_lines()
def scan() -> None:
    h = hyper("scan.json")
    if not h:
        return
    h.update(hyper("scan.cold.json") or {})
    print("## scan (issue 5)\n")
    tree = D / "scan.tree.json"
    if tree.exists():
        print(f"Tree: {tree.read_text().strip()}\n")
    summ = D / "scan.summary.json"
    if summ.exists():
        print(f"Scan summary of the tree: {summ.read_text().strip()}\n")
    print("| command | median | mean ± σ | min | max |")
    print("|---|---|---|---|---|")
    for name, r in h.items():
        print(f"| {name} | {r['median'] * 1e3:.1f} ms | {r['mean'] * 1e3:.1f} ± {r['stddev'] * 1e3:.1f} ms | "
              f"{r['min'] * 1e3:.1f} ms | {r['max'] * 1e3:.1f} ms |")
    print()
    for name, r in h.items():
        if "tree" in name:
            print(f"- target 50,000-file tree ≤ 2 s, {name}: {r['median']:.3f} s → {ok(r['median'] <= 2)}")
    kib = time_v("scan.time.txt")
    if kib:
        print(f"- peak RSS of the tree scan (GNU time): {mb(kib):.1f} MB")
    print()


def memory() -> None:
    f = D / "memory.jsonl"
    if not f.exists():
        return
    print("## memory (issue 12): what one more supervised server costs\n")
    print("USS = private pages (Private_Clean + Private_Dirty), PSS = fair share of")
    print("shared pages; of the supervisor process only, never its server.\n")
    print("| supervisor | copies | idle USS / PSS per copy (mean) | relaying USS / PSS per copy (mean) | idle USS total | target ≤ 3 MB USS |")
    print("|---|---|---|---|---|---|")
    for line in f.read_text().splitlines():
        j = json.loads(line)
        i, r = j["idle"]["mean"], j["relaying"]["mean"]
        total = j["idle"]["total"]["Uss"]
        target = ok(mb(r["Uss"]) <= 3.0) if j["label"].startswith("mcp-warden") else "—"
        print(f"| {j['label']} | {j['count']} | {mb(i['Uss']):.2f} / {mb(i['Pss']):.2f} MB | "
              f"{mb(r['Uss']):.2f} / {mb(r['Pss']):.2f} MB | {mb(total):.2f} MB | {target} |")
    print()


def connect() -> None:
    if (D / "connect.pending").exists():
        print("## connect (issue 14)\n\nPENDING: " + (D / "connect.pending").read_text().strip() + "\n")
        return
    f = D / "connect.json"
    if not f.exists():
        return
    r = json.loads(f.read_text())
    ready, work = r["ready"], r["sessions"]
    versions = (D / "connect.versions.txt").read_text().strip() if (D / "connect.versions.txt").exists() else ""
    print(f"## connect (issue 14): bridges to one local Streamable HTTP server (Python SDK) {versions}\n")
    print(f"**spawn → initialize → tools/list answered**, {r['runs']} interleaved runs "
          f"(the direct rows connect, initialize and list in-process)\n")
    print("| variant | median | p90 | min | ratio to Python SDK direct | exit after stdin EOF (median) |")
    print("|---|---|---|---|---|---|")
    for name, v in ready.items():
        x = v["ready_ms"]
        ex = f"{v['exit_after_eof_ms']['median']:.1f} ms" if "exit_after_eof_ms" in v else "-"
        print(f"| {name} | {x['median']:.1f} ms | {x['p90']:.1f} ms | {x['min']:.1f} ms | "
              f"{v['ratio_vs_python_sdk']:.2f}× | {ex} |")
    print()
    print(f"**one session each**: {r['lat_samples']} sequential `echo` round trips, then "
          f"1 MB (`blob`, {r['blob_size']:,} bytes) tool results one after another\n")
    print("| variant | p50 | p99 | added p50 | added p99 | 1 MB results | peak RSS (VmHWM) | children |")
    print("|---|---|---|---|---|---|---|---|")
    for name, v in work.items():
        lat, tp = v["latency_ms"], v["throughput"]
        added = v.get("added_ms")
        a50 = f"{added['p50'] * 1e3:+.0f} µs" if added else "-"
        a99 = f"{added['p99'] * 1e3:+.0f} µs" if added else "-"
        rss = v.get("rss")
        hwm = f"{mb(rss['vm_hwm_kb']):.2f} MB" if rss and rss.get("vm_hwm_kb") else "-"
        kids = str(rss["children"]) if rss else "-"
        print(f"| {name} | {lat['median'] * 1e3:.0f} µs | {lat['p99'] * 1e3:.0f} µs | {a50} | {a99} | "
              f"{tp['mb_per_s']:,.1f} MB/s | {hwm} | {kids} |")
    print()
    base = ready["python-sdk direct"]["ready_ms"]["median"]
    ours = "mcp-warden connect"
    if ours in ready:
        t = ready[ours]["ready_ms"]["median"]
        print(f"- target spawn to first tools/list ≤ 1.2× the Python SDK client's own connect + initialize + list: "
              f"{t:.1f} ms vs {base:.1f} ms = {t / base:.2f}× → {ok(t <= 1.2 * base)}")
        if "mcp-remote" in ready:
            m = ready["mcp-remote"]["ready_ms"]["median"]
            print(f"- target ≥ 3× faster than mcp-remote to first tools/list: {m:.1f} ms / {t:.1f} ms = "
                  f"{m / t:.1f}× → {ok(m >= 3 * t)}")
    if ours in work:
        a = work[ours]["added_ms"]["p50"]
        print(f"- target added p50 latency per request ≤ 1 ms (over a direct HTTP client): "
              f"{a * 1e3:+.0f} µs → {ok(a <= 1.0)}")
        h = work[ours]["rss"]["vm_hwm_kb"]
        print(f"- target peak RSS ≤ 15 MB: {mb(h):.2f} MB → {ok(mb(h) <= 15)}")
    print()


def oauth() -> None:
    f = D / "oauth.json"
    if not f.exists():
        return
    r = json.loads(f.read_text())
    ready = r["ready"]
    versions = (D / "oauth.versions.txt").read_text().strip() if (D / "oauth.versions.txt").exists() else ""
    print(f"## oauth (issue 15): one oidc-provider, one token-validating MCP server (TypeScript SDK) {versions}\n")
    print(f"**spawn → initialize → tools/list answered**, {r['runs']} interleaved runs\n")
    print("| variant | median | p90 | min | ratio to the static header |")
    print("|---|---|---|---|---|")
    for name, v in ready.items():
        x = v["ready_ms"]
        print(f"| {name} | {x['median']:.1f} ms | {x['p90']:.1f} ms | {x['min']:.1f} ms | {v['ratio_vs_first']:.2f}× |")
    print()
    files = json.loads((D / "oauth.files.json").read_text()) if (D / "oauth.files.json").exists() else {}
    for d, held in files.items():
        print(f"- files under {Path(d).name}/ holding token material: {len(held)}"
              + (f" ({', '.join(held)})" if held else ""))
    static, cached = ready.get("connect, static header"), ready.get("connect, cached OAuth tokens")
    if static and cached:
        a, b = cached["ready_ms"]["median"], static["ready_ms"]["median"]
        print(f"- target with cached tokens ≤ 1.2× connect with a static header: {a:.1f} ms vs {b:.1f} ms = "
              f"{a / b:.2f}× → {ok(a <= 1.2 * b)}")
    print()


def pct(xs: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ys = sorted(xs)
    return ys[min(len(ys) - 1, max(0, round(q / 100 * len(ys) + 0.5) - 1))]


def egress_runs() -> dict[str, dict[str, list[float]]]:
    """egress.<variant>.<round>.json pooled per variant: latencies (µs) and MB/s."""
    pooled: dict[str, dict[str, list[float]]] = {}
    order = {"direct": 0, "proxied": 1}
    for f in sorted(D.glob("egress.*.*.json"), key=lambda f: (order.get(f.name.split(".")[1], 2), f.name)):
        variant = f.name.split(".")[1]
        r = json.loads(f.read_text())
        v = pooled.setdefault(variant, {"reused_us": [], "new_us": [], "mb_s": []})
        v["reused_us"] += r["reused_us"]
        v["new_us"] += r["new_us"]
        v["mb_s"] += [r["download_bytes"] / 1e6 / s for s in r["download_s"]]
    return pooled


def egress() -> None:
    runs = egress_runs()
    if "direct" not in runs:
        return
    versions = (D / "egress.versions.txt").read_text().split() if (D / "egress.versions.txt").exists() else []
    print(f"## egress (issue 18): secretless mode's egress proxy, {' '.join(versions)}\n")
    base = runs["direct"]
    print("| variant | reused conn. p50 | p99 | added p50 | added p99 | new conn. p50 | p99 | added p50 | added p99 "
          "| 100 MiB download (median) | ratio to direct |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for name, v in runs.items():
        cells = []
        for k in ("reused_us", "new_us"):
            p50, p99 = pct(v[k], 50), pct(v[k], 99)
            d50, d99 = p50 - pct(base[k], 50), p99 - pct(base[k], 99)
            cells += [f"{p50:.0f} µs", f"{p99:.0f} µs", f"{d50:+.0f} µs", f"{d99:+.0f} µs"]
        tp = statistics.median(v["mb_s"])
        cells += [f"{tp:.1f} MB/s ({len(v['mb_s'])} runs)", f"{tp / statistics.median(base['mb_s']):.2f}×"]
        print(f"| {name} ({len(v['reused_us'])} + {len(v['new_us'])} requests) | " + " | ".join(cells) + " |")
    print()
    for name in [n for n in runs if n != "direct"]:
        v = runs[name]
        a = (pct(v["reused_us"], 50) - pct(base["reused_us"], 50)) / 1e3
        b = (pct(v["new_us"], 50) - pct(base["new_us"], 50)) / 1e3
        c = statistics.median(v["mb_s"]) / statistics.median(base["mb_s"])
        print(f"- {name}: target added p50 on a reused connection ≤ 0.5 ms: {a:.3f} ms → {ok(a <= 0.5)}")
        print(f"- {name}: target added p50 on a new connection ≤ 3 ms: {b:.3f} ms → {ok(b <= 3)}")
        print(f"- {name}: target 100 MiB download ≥ 70 % of direct: {c * 100:.0f} % → {ok(c >= 0.7)}")
    print()


for section in (startup, rss, memory, aws, relay, mcp, scan, connect, keyring, oauth, egress):
    try:
        section()
    except Exception as e:  # a half-finished section must not hide the others
        print(f"## {section.__name__}: could not summarize ({type(e).__name__}: {e})\n")
