//! Supervise mode: mcp-warden stays the child's parent.
//!
//! Owns the child's lifecycle: spawn it in its own process group with a
//! parent-death signal (SIGKILL when we die, even by SIGKILL), forward
//! SIGINT, SIGTERM, SIGHUP, SIGQUIT to its group and SIGUSR1, SIGUSR2 to it,
//! and — when the stdio proxy is on — the MCP stdio shutdown order on client
//! EOF (the proxy closes the child's stdin; we wait, SIGTERM, wait, SIGKILL,
//! each to its group). Its own group is what makes each signal arrive once:
//! a terminal's ^C, or a kill of our process group, reaches only us, and we
//! forward it. Without a guard the child inherits our stdio and nothing sits
//! in between; if that is our terminal, `terminal` gives it the foreground.
//! Must not look at bytes: whoever relays them plugs in through
//! [`StdioRelay`].

use std::future::Future;
use std::os::unix::process::CommandExt;
use std::pin::Pin;
use std::process::Stdio;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use tokio::signal::unix::{SignalKind, signal};
use tokio::time::Instant;

use super::status::ChildExit;
use super::terminal::{self, Terminal};
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

/// The signals we pass on, and whether they go to the child's whole process
/// group (as a terminal or a process-group kill would deliver them) or to
/// the server process alone (application signals, which its helpers'
/// default action would turn into death).
const FORWARDED: [(Signal, Target); 6] = [
    (Signal::INT, Target::Group),
    (Signal::TERM, Target::Group),
    (Signal::HUP, Target::Group),
    (Signal::QUIT, Target::Group),
    (Signal::USR1, Target::Process),
    (Signal::USR2, Target::Process),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Group,
    Process,
}

fn send(pid: Pid, sig: Signal, to: Target) {
    if to == Target::Group {
        match rustix::process::kill_process_group(pid, sig) {
            // No group of that id any more: the child moved to another one.
            Err(rustix::io::Errno::SRCH) => {}
            _ => return,
        }
    }
    let _ = rustix::process::kill_process(pid, sig);
}

/// Our handlers for the forwarded signals (and SIGCHLD when the child shares
/// our terminal), installed before the child exists so that none is lost.
struct Listeners {
    forwarded: Vec<(tokio::signal::unix::Signal, Signal, Target)>,
    child: Option<tokio::signal::unix::Signal>,
}

impl Listeners {
    fn new(child_stops: bool) -> Result<Self, LaunchError> {
        let on = |s: Signal| signal(SignalKind::from_raw(s.as_raw())).map_err(LaunchError::Signals);
        let forwarded = FORWARDED
            .iter()
            .map(|&(s, to)| on(s).map(|l| (l, s, to)))
            .collect::<Result<_, _>>()?;
        let child = child_stops.then(|| on(Signal::CHILD)).transpose()?;
        Ok(Self { forwarded, child })
    }

    /// The next signal received.
    async fn recv(&mut self) -> Received {
        std::future::poll_fn(|cx| {
            for (l, s, to) in &mut self.forwarded {
                if l.poll_recv(cx).is_ready() {
                    return std::task::Poll::Ready(Received::Forward(*s, *to));
                }
            }
            match self.child.as_mut().map(|l| l.poll_recv(cx)) {
                Some(std::task::Poll::Ready(_)) => std::task::Poll::Ready(Received::Child),
                _ => std::task::Poll::Pending,
            }
        })
        .await
    }
}

enum Received {
    /// A signal to pass on.
    Forward(Signal, Target),
    /// SIGCHLD: the child may have stopped.
    Child,
}

/// Starts the child in its own process group, with a parent-death signal;
/// with `tty`, its group takes our terminal before it execs.
fn spawn(
    prepared: &Prepared,
    piped: bool,
    tty: Option<Terminal>,
) -> Result<tokio::process::Child, LaunchError> {
    let parent = rustix::process::getpid();
    // prctl, getppid, getpid, kill, tcsetpgrp, sigprocmask and setrlimit are async-signal-safe.
    let mut std_cmd = prepared.command(move || {
        #[cfg(target_os = "linux")]
        {
            let _ = rustix::process::set_parent_process_death_signal(Some(Signal::KILL));
            // The parent may have died before the line above took effect.
            if rustix::process::getppid() != Some(parent) {
                let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::KILL);
            }
        }
        let _ = parent;
        if let Some(t) = &tty {
            t.give_to_self()?;
        }
        crate::harden::restore_core_limit();
        Ok(())
    })?;
    // Its own group: a terminal's ^C, or a kill of our group, reaches only
    // us, and we forward it once. std calls setpgid before `setup` runs.
    std_cmd.process_group(0);
    let mut cmd = tokio::process::Command::from(std_cmd);
    if piped {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
    }
    prepared.last_check()?;
    cmd.spawn().map_err(|source| prepared.spawn_error(source))
}

/// Hands the child's pipes to the relay the factory builds.
fn attach(
    prepared: &Prepared,
    child: &mut tokio::process::Child,
    factory: RelayFactory,
) -> Result<Box<dyn StdioRelay>, LaunchError> {
    let (Some(stdin), Some(stdout), Some(stderr)) =
        (child.stdin.take(), child.stdout.take(), child.stderr.take())
    else {
        return Err(prepared.spawn_error(std::io::Error::other("child stdio was not piped")));
    };
    Ok(factory(Piped {
        pid: child.id().unwrap_or(0),
        stdin,
        stdout,
        stderr,
    }))
}

/// Runs the child to completion and returns how it ended.
pub async fn supervise(
    prepared: Prepared,
    relay: Option<RelayFactory>,
    grace: Grace,
) -> Result<ChildExit, LaunchError> {
    let tty = if relay.is_none() {
        terminal::foreground()
    } else {
        None
    };
    let mut listeners = Listeners::new(tty.is_some())?;
    let mut child = match spawn(&prepared, relay.is_some(), tty) {
        Ok(child) => child,
        Err(e) => {
            // The child may have taken the terminal before its exec failed.
            if let Some(t) = tty {
                t.take_back();
            }
            return Err(e);
        }
    };
    let Some(pid) = child.id().and_then(|p| Pid::from_raw(p as i32)) else {
        return Err(prepared.spawn_error(std::io::Error::other("the child has no process id")));
    };
    let mut relay = match relay {
        Some(factory) => Some(attach(&prepared, &mut child, factory)?),
        None => None,
    };
    let status = wait(&mut child, pid, &mut relay, &mut listeners, grace, tty).await;
    if let Some(t) = tty {
        t.take_back();
    }
    let exit = ChildExit::from_status(status.map_err(|source| prepared.spawn_error(source))?);
    if let Some(r) = relay {
        r.finish(grace.drain).await;
    }
    Ok(exit)
}

/// Waits for the child: forwards signals, follows its stops on a shared
/// terminal, and after client EOF escalates SIGTERM, then SIGKILL.
async fn wait(
    child: &mut tokio::process::Child,
    pid: Pid,
    relay: &mut Option<Box<dyn StdioRelay>>,
    listeners: &mut Listeners,
    grace: Grace,
    tty: Option<Terminal>,
) -> std::io::Result<std::process::ExitStatus> {
    // After client EOF: the next escalation and when it is due.
    let mut escalation: Option<(Signal, Instant)> = None;
    let mut client_open = relay.is_some();
    loop {
        let deadline = escalation.map(|(_, at)| at);
        tokio::select! {
            status = child.wait() => return status,
            received = listeners.recv() => match received {
                Received::Forward(sig, to) => send(pid, sig, to),
                Received::Child => {
                    if let Some(t) = tty
                        && stopped(pid)
                    {
                        t.follow_stop(pid);
                    }
                }
            },
            _ = async { if let Some(r) = relay.as_mut() { r.client_eof().await } }, if client_open => {
                client_open = false;
                escalation = Some((Signal::TERM, Instant::now() + grace.stdin));
            }
            _ = async { if let Some(at) = deadline { tokio::time::sleep_until(at).await } }, if deadline.is_some() => {
                if let Some((sig, _)) = escalation {
                    send(pid, sig, Target::Group);
                    escalation = (sig == Signal::TERM).then(|| (Signal::KILL, Instant::now() + grace.term));
                }
            }
        }
    }
}

/// Whether the child reports a stop (consumed; its exit is left to tokio).
fn stopped(pid: Pid) -> bool {
    use rustix::process::{WaitId, WaitIdOptions, waitid};
    waitid(
        WaitId::Pid(pid),
        WaitIdOptions::STOPPED | WaitIdOptions::NOHANG,
    )
    .ok()
    .flatten()
    .is_some_and(|s| s.stopped())
}
