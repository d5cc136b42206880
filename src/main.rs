//! mcp-warden's entry point: harden, tune the allocator, parse, dispatch, map
//! errors to exit codes.

use std::ffi::OsString;

use clap::Parser;
use clap::error::{ContextKind, ContextValue, ErrorKind};
use mcp_warden::cli::Cli;
use mcp_warden::exit::{Code, ExitStatus};
use mcp_warden::verbs;

fn main() {
    mcp_warden::harden::harden_process();
    mcp_warden::allocator::tune();
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
        Ok(cli) => match std::panic::catch_unwind(|| {
            mcp_warden::diag::init(cli.verbose);
            verbs::dispatch(cli)
        }) {
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
    let normalized;
    let verb = verb_index(args);
    let args = if args.get(verb).is_some_and(|a| a == "run") {
        match verbs::run::normalize(&args[verb + 1..]) {
            Ok(rest) => {
                normalized = args[..=verb]
                    .iter()
                    .cloned()
                    .chain(rest)
                    .collect::<Vec<_>>();
                &normalized
            }
            Err(e) => {
                eprintln!("mcp-warden: {e}");
                return Err(e.exit_code().as_i32());
            }
        }
    } else {
        args
    };
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

/// Where the verb is: after the program name and any `-v`/`--verbose` before it.
fn verb_index(args: &[OsString]) -> usize {
    let verbose = |a: &&OsString| {
        a.to_str().is_some_and(|t| {
            t == "--verbose"
                || t.strip_prefix('-')
                    .is_some_and(|v| !v.is_empty() && v.bytes().all(|b| b == b'v'))
        })
    };
    1 + args.iter().skip(1).take_while(verbose).count()
}

/// One line for a clap error, without echoing what the user typed: a value,
/// a stray positional or a mistyped subcommand could be a pasted credential.
/// Flags are named (without any `=value`).
fn usage_line(e: &clap::Error) -> String {
    let flag = match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(arg)) if arg.starts_with('-') => {
            Some(arg.split(['=', ' ']).next().unwrap_or(arg).to_string())
        }
        _ => None,
    };
    let about = |what: &str| match &flag {
        Some(f) => format!("{what} {f}"),
        None => what.to_string(),
    };
    match e.kind() {
        ErrorKind::UnknownArgument if flag.is_some() => about("unexpected argument"),
        ErrorKind::UnknownArgument => {
            "unexpected extra argument (not shown: secret values never belong on the command line)"
                .into()
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => about("invalid value for"),
        ErrorKind::NoEquals
        | ErrorKind::TooManyValues
        | ErrorKind::TooFewValues
        | ErrorKind::WrongNumberOfValues => about("wrong number of values for"),
        ErrorKind::InvalidSubcommand => {
            "unknown command (not shown); see `mcp-warden --help` (run, connect, pin, secret, audit, scan, protect, restore, add, headers, inventory, doctor, completions)".into()
        }
        ErrorKind::MissingRequiredArgument
        | ErrorKind::MissingSubcommand
        | ErrorKind::ArgumentConflict => {
            let text = e.render().to_string();
            let first = text.lines().next().unwrap_or("invalid arguments");
            first.strip_prefix("error: ").unwrap_or(first).to_string()
        }
        _ => about("invalid arguments"),
    }
}
