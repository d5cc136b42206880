//! The launch argv of an entry: how it is written (command + args, or one
//! array), the edits that make it launch another argv, an existing
//! `mcp-warden run` in front of it, and what an argument means to the
//! program it belongs to (docker's own `-e`, a bridge's `--header`, the
//! variable name a secret in it should get).
//!
//! Pure string work over the parsed entry; no I/O.

use crate::clients::edit::{self, Edit, Value};
use crate::clients::{Format, Server};
use crate::protect::naming::var_name;
use crate::scan::runner;

/// The launch argv of an entry and how to write it back.
pub(super) enum ArgvShape {
    /// `command` + `args` (args pointer, whether the key exists).
    Split {
        command: String,
        args: String,
        args_exist: bool,
    },
    /// One argv array (opencode `command: [...]`), at this pointer.
    Array(String),
}

fn parent(pointer: &str) -> &str {
    pointer.rsplit_once('/').map_or("", |(p, _)| p)
}

pub(super) fn argv_shape(server: &Server, format: Format, original: &[u8]) -> Option<ArgvShape> {
    let command = server.command.as_ref()?;
    if command.pointer.ends_with("/0") {
        let array = parent(&command.pointer).to_string();
        if server
            .args
            .iter()
            .enumerate()
            .all(|(i, a)| a.pointer == format!("{array}/{}", i + 1))
        {
            return Some(ArgvShape::Array(array));
        }
    }
    let args = match server.args.first() {
        Some(a) => parent(&a.pointer).to_string(),
        None => format!("{}/args", server.pointer),
    };
    let args_exist = !server.args.is_empty() || edit::span(format, original, &args).is_ok();
    Some(ArgvShape::Split {
        command: command.pointer.clone(),
        args,
        args_exist,
    })
}

/// The edits that make the entry launch `new_argv` (warden first).
pub(super) fn argv_edits(shape: &ArgvShape, entry: &str, new_argv: &[String]) -> Vec<Edit> {
    match shape {
        ArgvShape::Array(p) => vec![Edit::Set {
            pointer: p.clone(),
            value: Value::StringArray(new_argv.to_vec()),
        }],
        ArgvShape::Split {
            command,
            args,
            args_exist,
        } => {
            let mut edits = vec![Edit::Set {
                pointer: command.clone(),
                value: Value::String(new_argv[0].clone()),
            }];
            let rest = Value::StringArray(new_argv[1..].to_vec());
            edits.push(if *args_exist {
                Edit::Set {
                    pointer: args.clone(),
                    value: rest,
                }
            } else {
                Edit::Insert {
                    pointer: entry.to_string(),
                    key: "args".to_string(),
                    value: rest,
                    before: None,
                }
            });
            edits
        }
    }
}

/// An `mcp-warden run ... -- child` the entry already starts through.
pub(super) struct ExistingRun {
    /// Index in `args` of the child's first argument (after `--`).
    pub child_from: usize,
    /// Whether the run already has `--expand-args`.
    pub expanding: bool,
}

/// The entry's existing `mcp-warden run`, asked once.
pub(super) fn existing_run(server: &Server) -> Option<ExistingRun> {
    let command = server.command.as_ref()?;
    let args: Vec<&str> = server.args.iter().map(|a| a.value.as_str()).collect();
    if runner::program_name(&command.value) != "mcp-warden" || args.first() != Some(&"run") {
        return None;
    }
    let child_from = args
        .iter()
        .position(|a| *a == "--")
        .map_or(args.len(), |i| i + 1);
    Some(ExistingRun {
        child_from,
        expanding: args[..child_from].contains(&"--expand-args"),
    })
}

/// Where the program an argument belongs to starts in `argv` (command = 0),
/// past any secret wrappers, and that program's name (a package runner's
/// package, else the executable's base name).
pub(super) fn program_at(argv: &[&str]) -> Option<(usize, String)> {
    let mut start = 0;
    for _ in 0..8 {
        match runner::wrapper(&argv[start..]).and_then(|w| w.inner) {
            Some(i) => start += i,
            None => break,
        }
    }
    let rest = argv.get(start..)?;
    match runner::package_runner(rest) {
        Some(l) => Some((start + l.index, runner::package_name(l.spec).to_string())),
        None => Some((start, runner::program_name(rest.first()?).to_string())),
    }
}

/// `"-e", "K=V"` among docker/podman's own options (before the image): the
/// value can come from docker's environment instead. After the image, `-e` is
/// the container command's own argument and is left alone.
pub(super) fn docker_env_flag(argv: &[&str], index: usize) -> bool {
    // The runner may sit behind a wrapper (`mcp-warden run ... -- docker run ...`).
    let mut start = 0;
    for _ in 0..8 {
        let rest = &argv[start..];
        if let Some(l) = runner::package_runner(rest)
            && l.kind == runner::PackageKind::Image
        {
            let image = start + l.index;
            return index >= 1 && index < image && matches!(argv[index - 1], "-e" | "--env");
        }
        match runner::wrapper(rest).and_then(|w| w.inner) {
            Some(i) => start += i,
            None => return false,
        }
    }
    false
}

/// Whether argument `index` of `argv` (command = 0) is a `--header "Name:
/// value"` line given to mcp-remote, which expands `${VAR}` in header values
/// from its own environment.
pub(super) fn mcp_remote_header(argv: &[&str], index: usize) -> bool {
    let Some((start, program)) = program_at(argv) else {
        return false;
    };
    let arg = argv.get(index).copied().unwrap_or_default();
    let flag_before = index > start + 1 && matches!(argv[index - 1], "--header" | "-H");
    program == "mcp-remote" && index > start && (flag_before || arg.starts_with("--header="))
}

/// A variable name for a secret found in argument `index` of `args`.
pub(super) fn arg_var(args: &[&str], index: usize, start: usize) -> String {
    let arg = args[index];
    let head = &arg[..start];
    if let Some((flag, _)) = head.split_once('=')
        && flag.starts_with('-')
    {
        return var_name(flag);
    }
    if let Some((k, _)) = head.split_once('=')
        && !k.is_empty()
        && index > 0
        && matches!(args[index - 1], "-e" | "--env")
    {
        return var_name(k);
    }
    if let Some((name, _)) = head.split_once(':') {
        return var_name(name);
    }
    // mcp-proxy's `--headers NAME VALUE`: named after the header.
    if index > 1 && matches!(args[index - 2], "--headers" | "-H" | "--header") {
        return var_name(args[index - 1]);
    }
    if index > 0 && args[index - 1].starts_with('-') && head.is_empty() {
        return var_name(args[index - 1]);
    }
    format!("ARG_{index}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bridges() {
        assert_eq!(arg_var(&["--api-key=abc"], 0, 10), "API_KEY");
        assert_eq!(arg_var(&["--token", "abc"], 1, 0), "TOKEN");
        assert_eq!(arg_var(&["-e", "GH=abc"], 1, 3), "GH");
        assert_eq!(
            arg_var(&["--header", "Authorization: Bearer abc"], 1, 22),
            "AUTHORIZATION"
        );
        assert_eq!(
            arg_var(&["--headers", "X-Api-Key", "abc"], 2, 0),
            "X_API_KEY"
        );
        assert_eq!(arg_var(&["x", "abc"], 1, 0), "ARG_1");
        let argv = [
            "npx",
            "-y",
            "mcp-remote@0.1.18",
            "https://x.example.com/sse",
            "--header",
            "Authorization: Bearer abc",
        ];
        assert!(mcp_remote_header(&argv, 5));
        assert!(!mcp_remote_header(&argv, 3));
        let argv = [
            "/opt/bin/mcp-remote",
            "https://x",
            "--header=Authorization: abc",
        ];
        assert!(mcp_remote_header(&argv, 2));
        let argv = ["supergateway", "--header", "Authorization: Bearer abc"];
        assert!(!mcp_remote_header(&argv, 2));
    }
}
