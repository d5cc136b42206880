//! Noticing a server that goes around the proxy: a program that ignores the
//! proxy variables (Node 20's `fetch`, or a Node without
//! `NODE_USE_ENV_PROXY`, raw sockets, some SDKs) connects to its API
//! directly, sends the placeholder and fails. Linux only: every second, the
//! TCP connections of mcp-warden's descendants are read from `/proc`, and a
//! connection to anywhere but the proxy is said once per destination and
//! recorded (`egress_direct`).
//!
//! Owns that scan. Must not stop or change connections: it cannot (the
//! limit docs/secretless.md states); the placeholder is what protects.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use super::Ctx;
use super::record::{Exchange, Outcome};

/// Time between scans.
const EVERY: Duration = Duration::from_secs(1);
/// Processes and destinations looked at, at most (a fork bomb is not our problem to index).
const MAX_PROCESSES: usize = 512;
const MAX_REPORTED: usize = 64;

/// Scans until aborted.
pub async fn watch(ctx: Arc<Ctx>, proxy: SocketAddr) {
    let mut said: HashSet<SocketAddr> = HashSet::new();
    let mut tick = tokio::time::interval(EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let found = tokio::task::spawn_blocking(direct_connections)
            .await
            .unwrap_or_default();
        for remote in found {
            if remote == proxy || said.len() >= MAX_REPORTED || !said.insert(remote) {
                continue;
            }
            report(&ctx, remote);
        }
    }
}

fn report(ctx: &Ctx, remote: SocketAddr) {
    let host = remote.ip().to_string();
    ctx.recorder.exchange(&Exchange {
        outcome: Outcome::Direct,
        host: &host,
        port: remote.port(),
        method: "",
        path: "",
        status: None,
        request_bytes: 0,
        response_bytes: 0,
        vars: &[],
        detail: Some("connected without the egress proxy"),
    });
    ctx.said.once(format!("direct {remote}"), || {
        format!(
            "the server connected to {remote} directly, not through the egress proxy: it ignores HTTPS_PROXY \
             (Node 20's fetch does; Node 24 honours it); what it sends there carries only placeholders and will be refused"
        )
    });
}

/// Remote addresses of TCP connections (established or being opened) held
/// by mcp-warden's descendants.
fn direct_connections() -> Vec<SocketAddr> {
    let pids = descendants(std::process::id());
    let mut inodes: HashSet<u64> = HashSet::new();
    for pid in &pids {
        socket_inodes(*pid, &mut inodes);
    }
    if inodes.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    // A child may live in another network namespace: read its own tables.
    let Some(first) = pids.first() else {
        return out;
    };
    for table in ["tcp", "tcp6"] {
        let path = format!("/proc/{first}/net/{table}");
        if let Ok(text) = std::fs::read_to_string(path) {
            out.extend(parse_table(&text, &inodes));
        }
    }
    out
}

/// Every process below `root` (not `root` itself), breadth first, bounded.
fn descendants(root: u32) -> Vec<u32> {
    let mut out = Vec::new();
    let mut queue = vec![root];
    while let Some(pid) = queue.pop() {
        let Ok(tasks) = std::fs::read_dir(format!("/proc/{pid}/task")) else {
            continue;
        };
        for task in tasks.flatten() {
            let path = task.path().join("children");
            let Ok(text) = std::fs::read_to_string(path) else {
                continue;
            };
            for child in text
                .split_whitespace()
                .filter_map(|c| c.parse::<u32>().ok())
            {
                if out.len() >= MAX_PROCESSES {
                    return out;
                }
                out.push(child);
                queue.push(child);
            }
        }
    }
    out
}

/// The inodes of `pid`'s sockets.
fn socket_inodes(pid: u32, into: &mut HashSet<u64>) {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return;
    };
    for fd in fds.flatten() {
        if let Ok(target) = std::fs::read_link(fd.path())
            && let Some(inode) = target
                .to_str()
                .and_then(|t| t.strip_prefix("socket:["))
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse().ok())
        {
            into.insert(inode);
        }
    }
}

/// Remote addresses of the rows of a `/proc/net/tcp{,6}` table whose socket
/// is one of `inodes` and whose state is established (01) or SYN sent (02).
fn parse_table(text: &str, inodes: &HashSet<u64>) -> Vec<SocketAddr> {
    text.lines()
        .skip(1)
        .filter_map(|line| {
            let cols: Vec<&str> = line.split_whitespace().collect();
            let (remote, state, inode) = (cols.get(2)?, cols.get(3)?, cols.get(9)?);
            if !matches!(*state, "01" | "02") || !inodes.contains(&inode.parse().ok()?) {
                return None;
            }
            parse_addr(remote)
        })
        .collect()
}

/// `0100007F:1F90` (IPv4) or 32 hex digits (IPv6), each 32-bit word in host order.
fn parse_addr(text: &str) -> Option<SocketAddr> {
    let (ip, port) = text.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    let words: Vec<u32> = (0..ip.len() / 8)
        .map(|i| u32::from_str_radix(ip.get(i * 8..i * 8 + 8)?, 16).ok())
        .collect::<Option<_>>()?;
    let ip = match words.as_slice() {
        [w] => IpAddr::V4(Ipv4Addr::from(w.swap_bytes())),
        [a, b, c, d] => {
            let mut bytes = [0u8; 16];
            for (i, w) in [a, b, c, d].iter().enumerate() {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&w.to_ne_bytes());
            }
            IpAddr::V6(Ipv6Addr::from(bytes))
        }
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_net_tcp_rows_are_read() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1\n\
   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 222 1\n\
   2: 0100007F:D432 0200007F:01BB 02 00000000:00000000 00:00000000 00000000     0        0 333 1\n";
        let inodes: HashSet<u64> = [111, 222, 333].into();
        let got = parse_table(table, &inodes);
        assert_eq!(
            got,
            [
                "127.0.0.1:8080".parse().unwrap(),
                "127.0.0.2:443".parse().unwrap()
            ]
        );
        let v6 = parse_addr("00000000000000000000000001000000:01BB").unwrap();
        assert_eq!(v6, "[::1]:443".parse().unwrap());
    }

    #[test]
    fn a_childs_connection_is_seen() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let mut child = std::process::Command::new("python3")
            .args([
                "-c",
                &format!(
                    "import socket,time; s=socket.create_connection(('127.0.0.1',{})); time.sleep(5)",
                    addr.port()
                ),
            ])
            .spawn()
            .unwrap();
        let _peer = listener.accept().unwrap();
        let seen = direct_connections();
        let _ = child.kill();
        let _ = child.wait();
        assert!(seen.contains(&addr), "{seen:?}");
    }
}
