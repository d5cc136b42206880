//! Opening the authorization URL in the user's browser.
//!
//! Owns the browser rule: `$BROWSER` (a colon-separated list of commands;
//! each split on whitespace, `%s` replaced by the URL or the URL appended;
//! the first that starts wins), else on Linux `xdg-open` when `DISPLAY` or
//! `WAYLAND_DISPLAY` is set, on macOS `open`. Never through a shell; the
//! browser's output is discarded and it is not waited for (a reaper thread
//! collects it). Must not print: the caller shows the URL.

use std::process::{Command, Stdio};

/// Whether a browser can be opened here (the rule above finds a command).
pub fn available() -> bool {
    !commands().is_empty()
}

/// The commands to try, each as argv without the URL.
fn commands() -> Vec<Vec<String>> {
    if let Some(b) = std::env::var_os("BROWSER").filter(|v| !v.is_empty()) {
        return b
            .to_string_lossy()
            .split(':')
            .map(|c| c.split_whitespace().map(str::to_string).collect::<Vec<_>>())
            .filter(|c| !c.is_empty())
            .collect();
    }
    let desktop = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    if cfg!(target_os = "macos") {
        return vec![vec!["open".into()]];
    }
    if cfg!(unix) && (desktop("DISPLAY") || desktop("WAYLAND_DISPLAY")) {
        return vec![vec!["xdg-open".into()]];
    }
    Vec::new()
}

/// The argv for `url`: `%s` replaced, else the URL appended.
fn argv(cmd: &[String], url: &str) -> Vec<String> {
    let mut out: Vec<String> = cmd.iter().map(|a| a.replace("%s", url)).collect();
    if !cmd.iter().any(|a| a.contains("%s")) {
        out.push(url.to_string());
    }
    out
}

/// Starts the first browser command that starts; false when none did.
pub fn open(url: &str) -> bool {
    for cmd in commands() {
        let args = argv(&cmd, url);
        let Some((program, rest)) = args.split_first() else {
            continue;
        };
        let spawned = Command::new(program)
            .args(rest)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut child) = spawned {
            // reaped in the background, never waited for here
            let _ = std::thread::Builder::new()
                .name("browser-reaper".into())
                .spawn(move || child.wait());
            return true;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_placement() {
        let c = |s: &[&str]| s.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            argv(&c(&["firefox", "--new-tab"]), "https://a/?x=1"),
            c(&["firefox", "--new-tab", "https://a/?x=1"])
        );
        assert_eq!(
            argv(&c(&["b", "--url=%s", "-x"]), "https://a/"),
            c(&["b", "--url=https://a/", "-x"])
        );
    }
}
