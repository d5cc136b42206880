//! Processes the tests start: bounded waits, their state in /proc, and input
//! fed through a pipe. Every wait has a limit; nothing outlives a timeout.

use std::io::Write;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

/// Waits for `child` and its output at most `limit`; kills it and fails the
/// test when it takes longer.
pub fn wait_with_timeout(child: Child, limit: Duration) -> Output {
    let pid = child.id() as i32;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            super::kill(pid, "KILL");
            panic!("process {pid} did not finish within {limit:?}");
        }
    }
}

/// The state letter of `/proc/PID/stat` (`T` stopped, `Z` zombie), or
/// `None` when there is no such process.
pub fn proc_state(pid: i32) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
}

/// Runs `c` with `input` on its stdin and its stdout and stderr captured;
/// the caller judges the result.
pub fn pipe(c: &mut Command, input: &[u8]) -> Output {
    fed(c, input).wait_with_output().expect("wait")
}

/// [`pipe`], killed (and the test failed) when it takes longer than `limit`.
pub fn pipe_within(c: &mut Command, input: &[u8], limit: Duration) -> Output {
    wait_with_timeout(fed(c, input), limit)
}

/// `c` started with its output captured and `input` written to its stdin.
fn fed(c: &mut Command, input: &[u8]) -> Child {
    let mut child = c
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {:?}: {e}", c.get_program()));
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input)
        .expect("write stdin");
    child
}
