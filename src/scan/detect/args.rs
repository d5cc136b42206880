//! `scan_args`: secrets in a command's argument list. Understands
//! `--api-key=V` / `--api-key V` (judged by the flag's name), `-e K=V` /
//! `--env K=V` and bare `K=V` (judged by `K`), `--header "Name: V"` / `-H`,
//! mcp-proxy's `--headers NAME V`, and scans every argument for typed tokens
//! and URL credentials.

use super::{ArgHit, Field, Hit, header, heuristic, value};

/// How a flag treats the argument that follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Takes {
    /// `-e K=V`: an environment assignment.
    Env,
    /// `-H "Name: V"`: a header line.
    Header,
    /// `--api-key V`: a value judged by the flag's name.
    Named,
}

fn flag_kind(flag: &str) -> Option<Takes> {
    if flag.contains(char::is_whitespace) {
        return None;
    }
    match flag {
        "-e" | "--env" | "--env-var" | "--set-env" | "--environment" => Some(Takes::Env),
        "-H" | "--header" | "--headers" | "--http-header" => Some(Takes::Header),
        // `--api-key`, and Go-style single-dash long flags (`-token`).
        _ if flag.starts_with("--") && flag.len() > 2 => Some(Takes::Named),
        _ if flag.starts_with('-')
            && flag.len() > 3
            && flag[1..]
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_') =>
        {
            Some(Takes::Named)
        }
        _ => None,
    }
}

/// Plaintext secrets in `args`.
pub(super) fn scan(args: &[&str]) -> Vec<ArgHit> {
    let mut per_arg: Vec<Vec<Hit>> = vec![Vec::new(); args.len()];
    let mut consumed = vec![false; args.len()];
    for (i, &arg) in args.iter().enumerate() {
        // Typed tokens and URL credentials anywhere.
        per_arg[i].extend(value::scan(Field::Url, arg));
        if consumed[i] {
            continue;
        }
        if let Some((flag, val)) = split_flag_eq(arg) {
            let offset = flag.len() + 1;
            let hits = match flag_kind(flag) {
                Some(Takes::Env) => env_pair(val),
                Some(Takes::Header) => header_line(val),
                Some(Takes::Named) => named(flag, val),
                None => Vec::new(),
            };
            per_arg[i].extend(hits.into_iter().map(|h| value::shift(h, offset)));
        } else if let Some(kind) = flag_kind(arg).filter(|_| !arg.contains('=')) {
            // (`--x=v` with an unusual flag name carries its own value.)
            let Some(&next) = args.get(i + 1) else {
                continue;
            };
            if next.starts_with("--") {
                continue;
            }
            // mcp-proxy's `--headers NAME VALUE` / `-H NAME VALUE`: the value is the next argument.
            if kind == Takes::Header
                && let Some(name) = header_name(next)
                && let Some(&val) = args.get(i + 2)
            {
                consumed[i + 1] = true;
                consumed[i + 2] = true;
                per_arg[i + 2].extend(value::scan(Field::Header { name }, val));
                continue;
            }
            let hits = match kind {
                Takes::Env => env_pair(next),
                Takes::Header => header_line(next),
                Takes::Named => named(arg, next),
            };
            if kind != Takes::Named || !hits.is_empty() {
                consumed[i + 1] = true;
            }
            per_arg[i + 1].extend(hits);
        } else if arg.contains(char::is_whitespace) && !arg.trim_start().starts_with('{') {
            // A shell string or a flag and its value pasted as one argument
            // (`sh -c "API_KEY=... node x"`, `"--api-key V"`): scan its words.
            per_arg[i].extend(words(arg));
        } else if !arg.starts_with('-') {
            per_arg[i].extend(env_pair(arg));
        }
    }
    per_arg
        .into_iter()
        .enumerate()
        .flat_map(|(index, hits)| {
            value::merge(hits)
                .into_iter()
                .map(move |hit| ArgHit { index, hit })
        })
        .collect()
}

/// Hits from scanning the whitespace-separated words of `arg` as an
/// argument list; ranges are into `arg`.
fn words(arg: &str) -> Vec<Hit> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in arg.char_indices() {
        match (c.is_whitespace(), start) {
            (true, Some(s)) => {
                spans.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push(s..arg.len());
    }
    let words: Vec<&str> = spans.iter().map(|r| &arg[r.clone()]).collect();
    if words.len() < 2 {
        return Vec::new();
    }
    scan(&words)
        .into_iter()
        .map(|h| value::shift(h.hit, spans[h.index].start))
        .collect()
}

/// `--flag=value` -> (`--flag`, `value`); only for double-dash flags and the
/// short env/header flags.
fn split_flag_eq(arg: &str) -> Option<(&str, &str)> {
    if !arg.starts_with('-') || arg.starts_with("-=") {
        return None;
    }
    let (flag, val) = arg.split_once('=')?;
    let name_ok = flag.len() > 1
        && flag
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || b"-_./:@".contains(&c));
    name_ok.then_some((flag, val))
}

/// `K=V` with `K` an environment variable name: `V` judged as env `K`.
fn env_pair(arg: &str) -> Vec<Hit> {
    let Some((k, v)) = arg.split_once('=') else {
        return Vec::new();
    };
    let valid = k
        .bytes()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == b'_')
        && k.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_');
    if !valid {
        return Vec::new();
    }
    let offset = k.len() + 1;
    value::scan(Field::Env { name: k }, v)
        .into_iter()
        .map(|h| value::shift(h, offset))
        .collect()
}

/// `Name: value` header line.
fn header_line(line: &str) -> Vec<Hit> {
    let Some((name, r)) = header::split_line(line) else {
        return Vec::new();
    };
    let offset = r.start;
    value::scan(Field::Header { name }, &line[r])
        .into_iter()
        .map(|h| value::shift(h, offset))
        .collect()
}

/// `NAME` alone (no colon) as the first of `--headers NAME VALUE`.
fn header_name(arg: &str) -> Option<&str> {
    let token = !arg.is_empty()
        && arg
            .bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_');
    token.then_some(arg)
}

/// A flag's value, judged by the flag's name (`--figma-api-key`).
fn named(flag: &str, val: &str) -> Vec<Hit> {
    let r = value::trimmed(val);
    heuristic::judge(flag, val, r).into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_name_and_value_as_two_arguments() {
        let token = format!("Zk3pQ9vX2mLr8TfWq4Hn{}", "B7aK1sD4fG6hJ8");
        let bearer = format!("Bearer {token}");
        for flag in ["--headers", "-H"] {
            let args = [
                "mcp-proxy",
                flag,
                "Authorization",
                bearer.as_str(),
                "https://x.example.com/sse",
            ];
            let hits = scan(&args);
            assert_eq!(hits.len(), 1, "{flag}");
            assert_eq!(hits[0].index, 3);
            assert_eq!(&bearer[hits[0].hit.range.clone()], token);
        }
        assert!(scan(&["--headers", "X-Team", "platform"]).is_empty());
    }

    #[test]
    fn npm_config_flags_carry_their_own_value() {
        let args = [
            "--yes",
            "--//registry.npmjs.org/:_authToken=${NPM_TOKEN}",
            "@acme/private-mcp",
        ];
        assert!(scan(&args).is_empty());
        let token = format!("Zk3pQ9vX2mLr8TfWq4Hn{}", "B7aK1sD4fG6hJ8");
        let arg = format!("--//npm.example.com/:_authToken={token}");
        let hits = scan(&[arg.as_str(), "@acme/private-mcp"]);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].index, 0);
        assert_eq!(&arg[hits[0].hit.range.clone()], token);
    }
}
