//! The terminal, when a supervised child shares it.
//!
//! The child runs in its own process group, so that a signal meant for the
//! server reaches it once: from us. When nothing sits on its stdio (no
//! proxy) and our stdin, stdout or stderr is the terminal whose foreground
//! group is ours, the child would be a background job of that terminal:
//! its reads would stop it. So, as a shell does, its group takes the
//! terminal's foreground before it execs (the terminal's ^C and ^\ then go
//! to it alone, once); when it stops (^Z) we take the terminal back and stop
//! too, so the shell regains control; when we are continued in the
//! foreground we hand the terminal back and continue it; when it ends the
//! terminal is ours again. Owns only that; does nothing without such a
//! terminal.

use std::os::fd::{BorrowedFd, RawFd};

use rustix::process::{Pid, Signal};

/// Our foreground terminal, as one of our standard descriptors.
#[derive(Debug, Clone, Copy)]
pub struct Terminal {
    fd: RawFd,
    ours: Pid,
}

/// The terminal the child will share, if one of our stdio descriptors is a
/// terminal whose foreground process group is ours.
pub fn foreground() -> Option<Terminal> {
    let ours = rustix::process::getpgrp();
    [0, 1, 2].into_iter().find_map(|fd| {
        let b = borrow(fd);
        (rustix::termios::isatty(b) && rustix::termios::tcgetpgrp(b).ok() == Some(ours))
            .then_some(Terminal { fd, ours })
    })
}

fn borrow(fd: RawFd) -> BorrowedFd<'static> {
    // SAFETY: 0, 1 and 2 stay open for the life of the process (std never closes them).
    unsafe { BorrowedFd::borrow_raw(fd) }
}

/// Runs `f` with SIGTTOU blocked in this thread: a process outside the
/// foreground group may then set the foreground group (tcsetpgrp) instead of
/// being stopped. Async-signal-safe.
fn without_ttou<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: sigset_t is plain data initialised by sigemptyset; the masks are
    // this thread's own and restored before returning.
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &set, &mut old);
        let out = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        out
    }
}

impl Terminal {
    /// In the child, between fork and exec, after it made its own group:
    /// that group takes the terminal. Async-signal-safe.
    pub fn give_to_self(&self) -> std::io::Result<()> {
        let me = rustix::process::getpid();
        without_ttou(|| rustix::termios::tcsetpgrp(borrow(self.fd), me)).map_err(Into::into)
    }

    /// The terminal back to our group (we are in the background meanwhile).
    pub fn take_back(&self) {
        let _ = without_ttou(|| rustix::termios::tcsetpgrp(borrow(self.fd), self.ours));
    }

    /// The child's group was stopped: take the terminal and stop like it;
    /// once we are continued, hand the terminal back if we are in the
    /// foreground, and continue the child.
    pub fn follow_stop(&self, child: Pid) {
        self.take_back();
        // The default action stops us here (unless our group is orphaned, when
        // the kernel discards it) until the shell continues us.
        let _ = rustix::process::kill_process(rustix::process::getpid(), Signal::TSTP);
        if rustix::termios::tcgetpgrp(borrow(self.fd)).ok() == Some(self.ours) {
            let _ = rustix::termios::tcsetpgrp(borrow(self.fd), child);
        }
        let _ = rustix::process::kill_process_group(child, Signal::CONT);
    }
}
