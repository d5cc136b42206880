//! Which file an interpreter command runs: `node server.js`,
//! `python3 server.py`, `python -m pkg`, `uv run server.py`, `deno run x.ts`,
//! `bun x.ts`, `ruby`/`perl`/`php` likewise.
//!
//! Pure argv analysis (no file system): the pin module hashes what this
//! names. Package runners (`npx`, `uvx`, `bun x`, ...) are not interpreters:
//! `scan::runner` recognises them first.

use crate::scan::runner::program_name;

/// What an interpreter is told to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Script<'a> {
    /// A script file, as written (relative to the working directory unless absolute).
    File(&'a str),
    /// `python -m NAME`: code found on the module path, which cannot be hashed.
    Module(&'a str),
    /// Code given inline (`-c`, `-e`, `--eval`): it is part of the arguments.
    Inline,
    /// A URL or registry specifier (`deno run https://...`, `npm:pkg`).
    Remote(&'a str),
    /// `uv run NAME` where NAME is not a file: a command from the project's environment.
    EnvCommand(&'a str),
    /// The interpreter with no script (a REPL, or reading stdin).
    Nothing,
}

struct Grammar {
    /// Options that take the next argument as their value.
    value_flags: &'static [&'static str],
    /// Options whose value is code to run.
    inline_flags: &'static [&'static str],
    /// Options whose value is a module name.
    module_flags: &'static [&'static str],
}

const NODE: Grammar = Grammar {
    value_flags: &[
        "-r",
        "--require",
        "--import",
        "--loader",
        "--experimental-loader",
        "-C",
        "--conditions",
        "--input-type",
        "--title",
        "--inspect-port",
        "--env-file",
        "--stack-size",
        "--max-old-space-size",
    ],
    inline_flags: &["-e", "--eval", "-p", "--print"],
    module_flags: &[],
};
const PYTHON: Grammar = Grammar {
    value_flags: &["-W", "-X", "--check-hash-based-pycs"],
    inline_flags: &["-c"],
    module_flags: &["-m"],
};
const UV_RUN: Grammar = Grammar {
    value_flags: &[
        "--with",
        "--with-editable",
        "--with-requirements",
        "-p",
        "--python",
        "--project",
        "--directory",
        "--env-file",
        "--extra",
        "--group",
        "--only-group",
        "--package",
        "--index",
        "--index-url",
        "--extra-index-url",
        "--default-index",
        "-i",
        "--config-file",
        "--cache-dir",
        "--python-platform",
        "--exclude-newer",
    ],
    inline_flags: &[],
    module_flags: &["-m", "--module"],
};
const DENO_RUN: Grammar = Grammar {
    value_flags: &[
        "-c",
        "--config",
        "--import-map",
        "--lock",
        "--cert",
        "--env-file",
        "--location",
        "--seed",
        "--v8-flags",
        "--inspect",
    ],
    inline_flags: &[],
    module_flags: &[],
};
const BUN: Grammar = Grammar {
    value_flags: &[
        "--cwd",
        "-r",
        "--preload",
        "--env-file",
        "--config",
        "-c",
        "--tsconfig-override",
    ],
    inline_flags: &["-e", "--eval", "-p", "--print"],
    module_flags: &[],
};
const PLAIN: Grammar = Grammar {
    value_flags: &["-I", "-r", "-d", "-c"],
    inline_flags: &["-e", "-E"],
    module_flags: &[],
};

fn is_python(prog: &str) -> bool {
    let rest = prog
        .strip_prefix("python")
        .or_else(|| prog.strip_prefix("pypy"));
    rest.is_some_and(|r| r.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
}

/// The interpreter `argv` starts with, and what it runs; `None` when
/// `argv[0]` is not an interpreter we know (a direct executable).
pub fn script<'a>(argv: &[&'a str]) -> Option<(&'static str, Script<'a>)> {
    let prog = program_name(argv.first()?);
    let sub = argv.get(1).copied().unwrap_or("");
    let (name, from, g) = match (prog, sub) {
        ("node" | "nodejs", _) => ("node", 1, &NODE),
        (p, _) if is_python(p) => ("python", 1, &PYTHON),
        ("uv", "run") => ("uv run", 2, &UV_RUN),
        ("deno", "run") => ("deno run", 2, &DENO_RUN),
        ("bun", "run") => ("bun run", 2, &BUN),
        ("bun", s) if s != "x" => ("bun", 1, &BUN),
        ("ruby", _) => ("ruby", 1, &PLAIN),
        ("perl", _) => ("perl", 1, &PLAIN),
        ("php", _) => ("php", 1, &PLAIN),
        _ => return None,
    };
    let mut i = from;
    while i < argv.len() {
        let a = argv[i];
        if a == "--" {
            i += 1;
            break;
        }
        if a.starts_with('-') && a.len() > 1 {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (a, None),
            };
            if g.inline_flags.contains(&flag) {
                return Some((name, Script::Inline));
            }
            if g.module_flags.contains(&flag) {
                let module = inline.or_else(|| argv.get(i + 1).copied()).unwrap_or("");
                return Some((name, Script::Module(module)));
            }
            // `python -mNAME` / `python -cCODE`: joined short options.
            if name == "python" && flag.len() > 2 && !flag.starts_with("--") {
                match &flag[..2] {
                    "-m" => return Some((name, Script::Module(&a[2..]))),
                    "-c" => return Some((name, Script::Inline)),
                    _ => {}
                }
            }
            if inline.is_none() && g.value_flags.contains(&flag) {
                i += 1;
            }
            i += 1;
            continue;
        }
        break;
    }
    let Some(op) = argv.get(i).copied() else {
        return Some((name, Script::Nothing));
    };
    if op.contains("://") || op.starts_with("npm:") || op.starts_with("jsr:") {
        return Some((name, Script::Remote(op)));
    }
    if name == "uv run" && !looks_like_a_file(op) {
        return Some((name, Script::EnvCommand(op)));
    }
    Some((name, Script::File(op)))
}

/// `uv run NAME`: a file when it has a path separator or a script extension.
fn looks_like_a_file(op: &str) -> bool {
    op.contains('/') || [".py", ".pyw", ".pyz"].iter().any(|e| op.ends_with(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(line: &str) -> Option<(&'static str, Script<'_>)> {
        let v: Vec<&str> = line.split(' ').collect();
        script(&v)
    }

    #[test]
    fn finds_the_script_file() {
        assert_eq!(
            s("node server.js"),
            Some(("node", Script::File("server.js")))
        );
        assert_eq!(
            s("node -r dotenv/config ./dist/index.js --port 1"),
            Some(("node", Script::File("./dist/index.js")))
        );
        assert_eq!(
            s("/usr/bin/python3.12 -u server.py"),
            Some(("python", Script::File("server.py")))
        );
        assert_eq!(
            s("python3 -m mcp_server_git"),
            Some(("python", Script::Module("mcp_server_git")))
        );
        assert_eq!(
            s("python -mmcp_server_git"),
            Some(("python", Script::Module("mcp_server_git")))
        );
        assert_eq!(s("python -c print(1)"), Some(("python", Script::Inline)));
        assert_eq!(
            s("uv run --with mcp server.py"),
            Some(("uv run", Script::File("server.py")))
        );
        assert_eq!(
            s("uv run mcp-server-x"),
            Some(("uv run", Script::EnvCommand("mcp-server-x")))
        );
        assert_eq!(
            s("deno run --allow-net x.ts"),
            Some(("deno run", Script::File("x.ts")))
        );
        assert_eq!(
            s("deno run https://example.com/x.ts"),
            Some(("deno run", Script::Remote("https://example.com/x.ts")))
        );
        assert_eq!(s("bun x.ts"), Some(("bun", Script::File("x.ts"))));
        assert_eq!(s("node"), Some(("node", Script::Nothing)));
    }

    #[test]
    fn others_are_not_interpreters() {
        assert_eq!(s("bun x pkg"), None);
        assert_eq!(s("npx -y pkg"), None);
        assert_eq!(s("/opt/server --stdio"), None);
        assert_eq!(s("pythonista x"), None);
    }
}
