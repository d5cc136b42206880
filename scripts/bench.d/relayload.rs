//! Relay load generator for `scripts/bench relay` (std only; built with plain
//! `rustc -O`, no Cargo, so it never touches the crate's manifest or lock).
//!
//!   relayload serve [--resp-size BYTES]
//!       A minimal newline-delimited JSON-RPC server on stdio: every request
//!       line that carries an `"id"` gets one response line at once,
//!       `{"jsonrpc":"2.0","id":ID,"result":{"content":[{"type":"text","text":"..."}],"isError":false}}`,
//!       whose text is BYTES of pseudo-random lowercase words. Output is
//!       flushed whenever no further input is buffered (so a lone request is
//!       answered immediately, a burst costs few writes).
//!
//!   relayload drive --mode tput|lat [--req-size B] [--count N] [--warmup N]
//!                   [--window N] [--label L] -- COMMAND [ARGS...]
//!       Spawns COMMAND (no shell) with piped stdin/stdout and drives it with
//!       `tools/call` request lines whose argument text is B bytes.
//!       tput: pipelined, at most N requests in flight (--window), measures the
//!             wall time from the first request written to the last response
//!             read, reports MB/s of request bytes and of response bytes (each
//!             over that wall time) and messages (round trips)/s.
//!       lat:  one request at a time, measures each round trip (write ->
//!             whole response line read), reports p50/p90/p99/max.
//!       After the measurement and before closing the child's stdin it reads
//!       VmHWM (peak RSS) of COMMAND's process (/proc/PID/status) and of its
//!       direct children, so the figure is that process alone, not the tree.
//!       --settle-ms N waits N ms before reading it (for an idle figure).
//!       Prints one JSON object on stdout.
//!
//! Every loop is bounded by --count; a child that stops answering is killed
//! after --timeout seconds (default 120) by a watchdog thread.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

fn die(msg: &str) -> ! {
    eprintln!("relayload: {msg}");
    std::process::exit(2);
}

/// Deterministic printable text (lowercase words and spaces) of exactly `n` bytes.
fn words(n: usize, seed: u64) -> Vec<u8> {
    let mut s = seed | 1;
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        let len = 2 + (s % 9) as usize;
        for i in 0..len {
            if out.len() >= n {
                break;
            }
            out.push(b'a' + ((s >> (8 + i * 5)) % 26) as u8);
        }
        if out.len() < n {
            out.push(b' ');
        }
    }
    out
}

fn arg_value(args: &[String], i: &mut usize, name: &str) -> String {
    *i += 1;
    args.get(*i)
        .cloned()
        .unwrap_or_else(|| die(&format!("{name} needs a value")))
}

fn parse_num(s: &str, name: &str) -> u64 {
    s.parse()
        .unwrap_or_else(|_| die(&format!("{name}: not a number: {s}")))
}

/// The raw JSON id of a request line (`"id":` followed by a number or a string).
fn find_id(line: &[u8]) -> Option<&[u8]> {
    let pat = b"\"id\":";
    let pos = line.windows(pat.len()).position(|w| w == pat)?;
    let rest = &line[pos + pat.len()..];
    let end = rest.iter().position(|&b| b == b',' || b == b'}')?;
    Some(&rest[..end])
}

fn serve(args: &[String]) {
    let mut resp_size = 64usize;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--resp-size" => resp_size = parse_num(&arg_value(args, &mut i, "--resp-size"), "--resp-size") as usize,
            other => die(&format!("serve: unknown argument {other}")),
        }
        i += 1;
    }
    let text = words(resp_size, 0x9e37_79b9_7f4a_7c15);
    let head = b"{\"jsonrpc\":\"2.0\",\"id\":";
    let mid = b",\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"";
    let tail = b"\"}],\"isError\":false}}\n";
    let stdin = std::io::stdin();
    let mut rd = BufReader::with_capacity(256 * 1024, stdin.lock());
    let stdout = std::io::stdout();
    let mut wr = BufWriter::with_capacity(256 * 1024, stdout.lock());
    let mut line = Vec::with_capacity(64 * 1024);
    loop {
        line.clear();
        match rd.read_until(b'\n', &mut line) {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => die(&format!("serve: read: {e}")),
        }
        if let Some(id) = find_id(&line) {
            let ok = wr.write_all(head).is_ok()
                && wr.write_all(id).is_ok()
                && wr.write_all(mid).is_ok()
                && wr.write_all(&text).is_ok()
                && wr.write_all(tail).is_ok();
            if !ok {
                break;
            }
        }
        if rd.buffer().is_empty() && wr.flush().is_err() {
            break;
        }
    }
    let _ = wr.flush();
}

struct Mem {
    hwm_kb: u64,
    rss_kb: u64,
    anon_kb: u64,
    file_kb: u64,
}

fn mem_of(pid: u32) -> Option<Mem> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let get = |k: &str| -> u64 {
        s.lines()
            .find(|l| l.starts_with(k))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    Some(Mem {
        hwm_kb: get("VmHWM:"),
        rss_kb: get("VmRSS:"),
        anon_kb: get("RssAnon:"),
        file_kb: get("RssFile:"),
    })
}

fn children_of(pid: u32) -> Vec<u32> {
    std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
        .unwrap_or_default()
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect()
}

fn mem_json(m: &Option<Mem>) -> String {
    match m {
        Some(m) => format!(
            "{{\"vm_hwm_kb\":{},\"vm_rss_kb\":{},\"rss_anon_kb\":{},\"rss_file_kb\":{}}}",
            m.hwm_kb, m.rss_kb, m.anon_kb, m.file_kb
        ),
        None => "null".into(),
    }
}

fn request(id: u64, text: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(text.len() + 128);
    v.extend_from_slice(b"{\"jsonrpc\":\"2.0\",\"id\":");
    v.extend_from_slice(id.to_string().as_bytes());
    v.extend_from_slice(b",\"method\":\"tools/call\",\"params\":{\"name\":\"echo\",\"arguments\":{\"text\":\"");
    v.extend_from_slice(text);
    v.extend_from_slice(b"\"}}}\n");
    v
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn drive(args: &[String]) {
    let mut mode = String::from("tput");
    let mut req_size = 64usize;
    let mut count = 10_000u64;
    let mut warmup = 0u64;
    let mut window = 1024u64;
    let mut label = String::new();
    let mut timeout = 120u64;
    let mut settle_ms = 0u64;
    let mut i = 0;
    while i < args.len() {
        match args[i].as_str() {
            "--mode" => mode = arg_value(args, &mut i, "--mode"),
            "--req-size" => req_size = parse_num(&arg_value(args, &mut i, "--req-size"), "--req-size") as usize,
            "--count" => count = parse_num(&arg_value(args, &mut i, "--count"), "--count"),
            "--warmup" => warmup = parse_num(&arg_value(args, &mut i, "--warmup"), "--warmup"),
            "--window" => window = parse_num(&arg_value(args, &mut i, "--window"), "--window").max(2),
            "--label" => label = arg_value(args, &mut i, "--label"),
            "--settle-ms" => settle_ms = parse_num(&arg_value(args, &mut i, "--settle-ms"), "--settle-ms"),
            "--timeout" => timeout = parse_num(&arg_value(args, &mut i, "--timeout"), "--timeout"),
            "--" => {
                i += 1;
                break;
            }
            other => die(&format!("drive: unknown argument {other}")),
        }
        i += 1;
    }
    let cmd = &args[i..];
    if cmd.is_empty() {
        die("drive: missing -- COMMAND");
    }
    let mut child = Command::new(&cmd[0])
        .args(&cmd[1..])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| die(&format!("spawn {}: {e}", cmd[0])));
    let pid = child.id();
    let mut stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();

    // Watchdog: a stuck child is killed, so the driver's reads end.
    let done = Arc::new(AtomicBool::new(false));
    {
        let done = done.clone();
        thread::spawn(move || {
            let start = Instant::now();
            while !done.load(Ordering::Relaxed) {
                if start.elapsed() > Duration::from_secs(timeout) {
                    eprintln!("relayload: timeout after {timeout}s, killing pid {pid}");
                    let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
                    std::process::exit(124);
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
    }

    let text = words(req_size, 0x2545_f491_4f6c_dd1d);
    let mut rd = BufReader::with_capacity(1024 * 1024, stdout);
    let mut line = Vec::with_capacity(64 * 1024);
    let mut out = format!(
        "{{\"label\":\"{label}\",\"mode\":\"{mode}\",\"req_size\":{req_size},\"count\":{count}"
    );

    match mode.as_str() {
        "lat" => {
            let mut samples = Vec::with_capacity(count as usize);
            for n in 0..(warmup + count) {
                let req = request(n + 1, &text);
                let t0 = Instant::now();
                stdin.write_all(&req).unwrap_or_else(|e| die(&format!("write: {e}")));
                line.clear();
                let got = rd.read_until(b'\n', &mut line).unwrap_or_else(|e| die(&format!("read: {e}")));
                let dt = t0.elapsed();
                if got == 0 {
                    die("child closed its stdout");
                }
                if n >= warmup {
                    samples.push(dt.as_secs_f64() * 1e6);
                }
            }
            let resp_bytes = line.len();
            samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
            let mean = samples.iter().sum::<f64>() / samples.len() as f64;
            out += &format!(
                ",\"resp_bytes\":{resp_bytes},\"p50_us\":{:.2},\"p90_us\":{:.2},\"p99_us\":{:.2},\"max_us\":{:.2},\"mean_us\":{:.2}",
                percentile(&samples, 50.0),
                percentile(&samples, 90.0),
                percentile(&samples, 99.0),
                samples.last().copied().unwrap_or(f64::NAN),
                mean
            );
        }
        "tput" => {
            let received = Arc::new(AtomicU64::new(0));
            let batch = (window / 2).max(1);
            let writer = {
                let received = received.clone();
                let text = text.clone();
                thread::spawn(move || {
                    let mut w = BufWriter::with_capacity(1024 * 1024, stdin);
                    let mut sent = 0u64;
                    while sent < count {
                        // keep at most `window` requests in flight
                        let mut waits = 0u64;
                        while sent - received.load(Ordering::Acquire) > window - batch {
                            thread::sleep(Duration::from_micros(20));
                            waits += 1;
                            if waits > 50_000_000 {
                                die("writer waited too long");
                            }
                        }
                        let upto = (sent + batch).min(count);
                        while sent < upto {
                            sent += 1;
                            w.write_all(&request(sent, &text)).unwrap_or_else(|e| die(&format!("write: {e}")));
                        }
                        w.flush().unwrap_or_else(|e| die(&format!("flush: {e}")));
                    }
                    w.into_inner().ok().unwrap()
                })
            };
            let t0 = Instant::now();
            let mut bytes = 0u64;
            let mut n = 0u64;
            // Read whole chunks and count newlines: cheaper than per-line reads.
            let mut buf = vec![0u8; 1024 * 1024];
            let inner = rd.get_mut();
            while n < count {
                let got = inner.read(&mut buf).unwrap_or_else(|e| die(&format!("read: {e}")));
                if got == 0 {
                    die(&format!("child closed its stdout after {n} responses"));
                }
                let nl = buf[..got].iter().filter(|&&b| b == b'\n').count() as u64;
                bytes += got as u64;
                n += nl;
                received.store(n, Ordering::Release);
            }
            let secs = t0.elapsed().as_secs_f64();
            stdin = writer.join().unwrap_or_else(|_| die("writer thread panicked"));
            let req_bytes: u64 = (1..=count).map(|id| request(id, &[]).len() as u64 + req_size as u64).sum();
            out += &format!(
                ",\"window\":{window},\"req_bytes_total\":{req_bytes},\"resp_bytes_total\":{bytes},\"avg_resp_bytes\":{},\"seconds\":{secs:.6},\"req_mb_per_s\":{:.1},\"resp_mb_per_s\":{:.1},\"msgs_per_s\":{:.0}",
                bytes / n.max(1),
                req_bytes as f64 / 1e6 / secs,
                bytes as f64 / 1e6 / secs,
                n as f64 / secs
            );
        }
        other => die(&format!("unknown --mode {other}")),
    }

    // Peak RSS of COMMAND's own process, and of its children, before EOF.
    thread::sleep(Duration::from_millis(settle_ms));
    let me = mem_of(pid);
    let kids: Vec<String> = children_of(pid)
        .into_iter()
        .map(|k| format!("{{\"pid\":{k},\"mem\":{}}}", mem_json(&mem_of(k))))
        .collect();
    out += &format!(",\"pid\":{pid},\"mem\":{},\"children\":[{}]", mem_json(&me), kids.join(","));

    drop(stdin);
    // drain until EOF (bounded by the watchdog)
    let mut sink = Vec::new();
    let _ = rd.read_to_end(&mut sink);
    let status = child.wait().unwrap_or_else(|e| die(&format!("wait: {e}")));
    done.store(true, Ordering::Relaxed);
    out += &format!(",\"exit\":{}}}", status.code().unwrap_or(-1));
    println!("{out}");
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve") => serve(&args[1..]),
        Some("drive") => drive(&args[1..]),
        _ => die("usage: relayload serve [--resp-size B] | relayload drive --mode tput|lat ... -- CMD ARGS"),
    }
}
