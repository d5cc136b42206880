//! mcp-warden's entry point: harden, parse, dispatch, map errors to exit codes.

use std::ffi::OsString;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use mcp_warden::cli::Cli;
use mcp_warden::exit::{Code, ExitStatus};
use mcp_warden::verbs;

fn main() {
    mcp_warden::harden::harden_process();
    std::panic::set_hook(Box::new(|info| {
        // The payload is not printed: it could hold data; the location cannot.
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        eprintln!("mcp-warden: internal error{at}; please report it");
    }));
    let args: Vec<OsString> = std::env::args_os().collect();
    let code = match parse(&args) {
        Ok(cli) => match std::panic::catch_unwind(|| verbs::dispatch(cli)) {
            Ok(Ok(code)) => code,
            Ok(Err(e)) => {
                eprintln!("mcp-warden: {e}");
                e.process_exit_code()
            }
            Err(_) => Code::Software.as_i32(),
        },
        Err(code) => code,
    };
    std::process::exit(code);
}

/// Parses argv; on failure prints one line (or help/version) and returns the exit code.
fn parse(args: &[OsString]) -> Result<Cli, i32> {
    if args.get(1).is_some_and(|a| a == "run")
        && let Err(e) = verbs::run::precheck(&args[2..])
    {
        eprintln!("mcp-warden: {e}");
        return Err(e.exit_code().as_i32());
    }
    Cli::try_parse_from(args).map_err(|e| match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = e.print();
            if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                Code::Usage.as_i32()
            } else {
                0
            }
        }
        _ => {
            eprintln!("mcp-warden: {}; see --help", usage_line(&e));
            Code::Usage.as_i32()
        }
    })
}

/// One line for a clap error. An unknown `--flag=value` is named without its
/// value, and a stray positional not at all: either could be a credential.
fn usage_line(e: &clap::Error) -> String {
    if e.kind() == ErrorKind::UnknownArgument
        && let Some(ContextValue::String(arg)) = e.get(ContextKind::InvalidArg)
    {
        if arg.starts_with('-') {
            let flag = arg.split('=').next().unwrap_or(arg);
            return format!("unexpected argument {flag:?}");
        }
        // A stray positional may be a pasted value: never echo it.
        return "unexpected extra argument (not shown: secret values never belong on the command line)".into();
    }
    let text = e.render().to_string();
    let first = text.lines().next().unwrap_or("invalid arguments");
    first.strip_prefix("error: ").unwrap_or(first).to_string()
}
