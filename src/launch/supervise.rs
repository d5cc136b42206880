//! Supervise mode: mcp-warden stays the child's parent.
//!
//! Owns the child's lifecycle: spawn with a parent-death signal, forward
//! SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, and — when the stdio
//! proxy is on — the MCP stdio shutdown order on client EOF (the proxy closes
//! the child's stdin; we wait, SIGTERM, wait, SIGKILL). Without a guard the
//! child inherits our stdio and nothing sits in between. Must not look at
//! bytes: whoever relays them plugs in through [`StdioRelay`].

use std::future::Future;
use std::os::unix::process::CommandExt;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use super::status::ChildExit;
use super::{LaunchError, Prepared};

/// The child's piped stdio, handed to a relay.
pub struct Piped {
    pub pid: u32,
    pub stdin: tokio::process::ChildStdin,
    pub stdout: tokio::process::ChildStdout,
    pub stderr: tokio::process::ChildStderr,
}

/// Something that carries bytes between our stdio and the child's.
pub trait StdioRelay {
    /// Resolves once the client closed our stdin and the relay closed the child's stdin.
    fn client_eof(&mut self) -> Pin<Box<dyn Future<Output = ()> + '_>>;
    /// Drains the child's remaining output, for at most `drain`.
    fn finish(self: Box<Self>, drain: Duration) -> Pin<Box<dyn Future<Output = ()>>>;
}

/// Builds the relay once the child exists.
pub type RelayFactory = Box<dyn FnOnce(Piped) -> Box<dyn StdioRelay>>;

/// How the shutdown sequence waits after client EOF.
#[derive(Debug, Clone, Copy)]
pub struct Grace {
    /// From closing the child's stdin to SIGTERM.
    pub stdin: Duration,
    /// From SIGTERM to SIGKILL.
    pub term: Duration,
    /// How long to drain the child's output after it exits.
    pub drain: Duration,
}

impl Default for Grace {
    fn default() -> Self {
        Self {
            stdin: Duration::from_secs(5),
            term: Duration::from_secs(5),
            drain: Duration::from_secs(2),
        }
    }
}

const FORWARDED: [(i32, Signal); 6] = [
    (libc_sig::INT, Signal::INT),
    (libc_sig::TERM, Signal::TERM),
    (libc_sig::HUP, Signal::HUP),
    (libc_sig::QUIT, Signal::QUIT),
    (libc_sig::USR1, Signal::USR1),
    (libc_sig::USR2, Signal::USR2),
];

/// Signal numbers for tokio's `SignalKind`, taken from rustix so no libc crate is needed.
mod libc_sig {
    use rustix::process::Signal;
    pub const INT: i32 = Signal::INT.as_raw();
    pub const TERM: i32 = Signal::TERM.as_raw();
    pub const HUP: i32 = Signal::HUP.as_raw();
    pub const QUIT: i32 = Signal::QUIT.as_raw();
    pub const USR1: i32 = Signal::USR1.as_raw();
    pub const USR2: i32 = Signal::USR2.as_raw();
}

fn send(pid: Option<Pid>, sig: Signal) {
    if let Some(pid) = pid {
        let _ = rustix::process::kill_process(pid, sig);
    }
}

/// Runs the child to completion and returns how it ended.
pub async fn supervise(
    prepared: Prepared,
    relay: Option<RelayFactory>,
    grace: Grace,
) -> Result<ChildExit, LaunchError> {
    // Handlers first, so a signal that arrives during spawn is not lost.
    let listen =
        |i: usize| signal(SignalKind::from_raw(FORWARDED[i].0)).map_err(LaunchError::Signals);
    let (mut s0, mut s1, mut s2, mut s3, mut s4, mut s5) = (
        listen(0)?,
        listen(1)?,
        listen(2)?,
        listen(3)?,
        listen(4)?,
        listen(5)?,
    );

    let mut std_cmd = prepared.command();
    let parent = rustix::process::getpid();
    // SAFETY: prctl, getppid, kill and setrlimit are async-signal-safe.
    unsafe {
        std_cmd.pre_exec(move || {
            #[cfg(target_os = "linux")]
            {
                let _ = rustix::process::set_parent_process_death_signal(Some(Signal::KILL));
                // The parent may have died before the line above took effect.
                if rustix::process::getppid() != Some(parent) {
                    let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::KILL);
                }
            }
            let _ = parent;
            crate::harden::restore_core_limit();
            Ok(())
        });
    }
    let mut cmd = tokio::process::Command::from(std_cmd);
    if relay.is_some() {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }
    let mut child = cmd.spawn().map_err(|source| LaunchError::Spawn {
        program: prepared.program.display().to_string(),
        source,
    })?;
    let pid = child.id().and_then(|p| Pid::from_raw(p as i32));

    let mut relay = match relay {
        Some(factory) => {
            let (Some(stdin), Some(stdout), Some(stderr)) =
                (child.stdin.take(), child.stdout.take(), child.stderr.take())
            else {
                return Err(LaunchError::Spawn {
                    program: prepared.program.display().to_string(),
                    source: std::io::Error::other("child stdio was not piped"),
                });
            };
            Some(factory(Piped {
                pid: child.id().unwrap_or(0),
                stdin,
                stdout,
                stderr,
            }))
        }
        None => None,
    };

    // After client EOF: the next escalation and when it is due.
    let mut escalation: Option<(Signal, Instant)> = None;
    let mut client_open = relay.is_some();
    let status = loop {
        let deadline = escalation.map(|(_, at)| at);
        tokio::select! {
            status = child.wait() => break status,
            _ = s0.recv() => send(pid, FORWARDED[0].1),
            _ = s1.recv() => send(pid, FORWARDED[1].1),
            _ = s2.recv() => send(pid, FORWARDED[2].1),
            _ = s3.recv() => send(pid, FORWARDED[3].1),
            _ = s4.recv() => send(pid, FORWARDED[4].1),
            _ = s5.recv() => send(pid, FORWARDED[5].1),
            _ = async { if let Some(r) = relay.as_mut() { r.client_eof().await } }, if client_open => {
                client_open = false;
                escalation = Some((Signal::TERM, Instant::now() + grace.stdin));
            }
            _ = async { if let Some(at) = deadline { tokio::time::sleep_until(at).await } }, if deadline.is_some() => {
                if let Some((sig, _)) = escalation {
                    send(pid, sig);
                    escalation = (sig == Signal::TERM).then(|| (Signal::KILL, Instant::now() + grace.term));
                }
            }
        }
    };
    let status = status.map_err(|source| LaunchError::Spawn {
        program: prepared.program.display().to_string(),
        source,
    })?;
    let exit = ChildExit::from_status(status);
    if let Some(r) = relay {
        r.finish(grace.drain).await;
    }
    Ok(exit)
}
