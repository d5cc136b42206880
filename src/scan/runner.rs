//! What a launch command runs: secret wrappers peeled off, package runners
//! (`npx`, `uvx`, `docker run`, ...) recognised, and whether the package or
//! image is pinned to an exact version or digest.
//!
//! Pure functions over argv strings: no file system, no network, no process.

/// A secret wrapper in front of the real server command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wrapper {
    /// `mcp-warden`, `mcp-secret-wrapper`, `op run`, ...
    pub name: &'static str,
    /// Index in argv (command = 0) where the wrapped command starts, if any.
    pub inner: Option<usize>,
}

/// Base name of a command path, without a Windows `.cmd`/`.exe` suffix.
pub fn program_name(command: &str) -> &str {
    let base = command.rsplit(['/', '\\']).next().unwrap_or(command);
    for suffix in [".cmd", ".exe", ".bat", ".ps1"] {
        if let Some(stem) = base.strip_suffix(suffix) {
            return stem;
        }
    }
    base
}

fn after_double_dash(argv: &[&str], from: usize) -> Option<usize> {
    argv.iter()
        .skip(from)
        .position(|a| *a == "--")
        .map(|p| from + p + 1)
        .filter(|&i| i < argv.len())
}

/// Recognises a secret wrapper at the front of `argv` (command first).
pub fn wrapper(argv: &[&str]) -> Option<Wrapper> {
    let prog = program_name(argv.first()?);
    let sub = argv.get(1).copied().unwrap_or("");
    let named = |name, from| {
        Some(Wrapper {
            name,
            inner: after_double_dash(argv, from),
        })
    };
    match (prog, sub) {
        ("mcp-warden", "run") => named("mcp-warden", 2),
        // A remote server reached through `connect`: the values come from references.
        ("mcp-warden", "connect") => Some(Wrapper {
            name: "mcp-warden",
            inner: None,
        }),
        ("mcp-secret-wrapper", _) => named("mcp-secret-wrapper", 1),
        ("op", "run") => named("1password op run", 2),
        ("doppler", "run") => named("doppler run", 2),
        ("infisical", "run") => named("infisical run", 2),
        ("teller", "run") => named("teller run", 2),
        ("secretspec", "run") => named("secretspec run", 2),
        ("chamber", "exec") => named("chamber exec", 2),
        ("aws-vault", "exec") => named("aws-vault exec", 2),
        ("dotenvx", "run") => named("dotenvx run", 2),
        ("envconsul", _) => Some(Wrapper {
            name: "envconsul",
            inner: None,
        }),
        _ => {
            // A package runner launching the wrapper: `npx -y @astrixsecurity/mcp-secret-wrapper ...`.
            let launched = package_runner(argv)?;
            let pkg = package_name(launched.spec);
            if pkg == "@astrixsecurity/mcp-secret-wrapper" || pkg == "mcp-secret-wrapper" {
                named("mcp-secret-wrapper", launched.index + 1)
            } else if pkg == "mcp-warden" {
                named("mcp-warden", launched.index + 1)
            } else {
                None
            }
        }
    }
}

/// The package a runner launches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Launched<'a> {
    pub runner: &'static str,
    pub kind: PackageKind,
    /// The package spec or image as written.
    pub spec: &'a str,
    /// Its index in argv.
    pub index: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PackageKind {
    Npm,
    Python,
    Image,
}

const NPX_VALUE_FLAGS: &[&str] = &[
    "-p",
    "--package",
    "-c",
    "--call",
    "--registry",
    "--cache",
    "--userconfig",
    "-w",
    "--workspace",
    "--node-options",
];
const UVX_VALUE_FLAGS: &[&str] = &[
    "--from",
    "--with",
    "--with-requirements",
    "--with-editable",
    "-p",
    "--python",
    "--index",
    "--index-url",
    "--extra-index-url",
    "--default-index",
    "-i",
    "--constraints",
    "--overrides",
    "-c",
    "--config-file",
    "--directory",
    "--project",
    "--cache-dir",
    "--spec",
    "--pip-args",
    "--env-file",
];
const DOCKER_VALUE_FLAGS: &[&str] = &[
    "-e",
    "--env",
    "--env-file",
    "-v",
    "--volume",
    "-p",
    "--publish",
    "--name",
    "--network",
    "--net",
    "-w",
    "--workdir",
    "-u",
    "--user",
    "--entrypoint",
    "-l",
    "--label",
    "--label-file",
    "--mount",
    "--platform",
    "--pull",
    "-m",
    "--memory",
    "--cpus",
    "--add-host",
    "--cap-add",
    "--cap-drop",
    "--device",
    "--dns",
    "-h",
    "--hostname",
    "--ipc",
    "--log-driver",
    "--log-opt",
    "--restart",
    "--runtime",
    "--security-opt",
    "--shm-size",
    "--tmpfs",
    "--ulimit",
    "--gpus",
    "--pid",
    "--userns",
    "--volumes-from",
    "--link",
    "--expose",
    "--stop-signal",
    "--stop-timeout",
    "--cidfile",
    "--group-add",
    "--memory-swap",
    "--cpu-shares",
    "-c",
    "--attach",
    "-a",
];

/// The first argument at or after `from` that is not an option (skipping the
/// values of options in `value_flags`), with the value of `pkg_flag` if given.
fn first_operand<'a>(
    argv: &[&'a str],
    from: usize,
    value_flags: &[&str],
    pkg_flags: &[&str],
) -> Option<(usize, &'a str)> {
    let mut i = from;
    while i < argv.len() {
        let a = argv[i];
        if a == "--" {
            return argv.get(i + 1).map(|s| (i + 1, *s));
        }
        if a.starts_with('-') && a.len() > 1 {
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) => (f, Some(v)),
                None => (a, None),
            };
            if pkg_flags.contains(&flag) {
                return match inline {
                    Some(v) => Some((i, v)),
                    None => argv.get(i + 1).map(|s| (i + 1, *s)),
                };
            }
            if inline.is_none() && value_flags.contains(&flag) {
                i += 1;
            }
            i += 1;
            continue;
        }
        return Some((i, a));
    }
    None
}

/// Recognises a package runner at the front of `argv` and the package it runs.
pub fn package_runner<'a>(argv: &[&'a str]) -> Option<Launched<'a>> {
    let prog = program_name(argv.first()?);
    let sub = argv.get(1).copied().unwrap_or("");
    let (runner, kind, from, values, pkg_flags): (_, _, _, &[&str], &[&str]) = match (prog, sub) {
        ("npx" | "pnpx" | "bunx", _) => (
            prog_static(prog),
            PackageKind::Npm,
            1,
            NPX_VALUE_FLAGS,
            &["-p", "--package"],
        ),
        ("npm", "exec") => (
            "npm exec",
            PackageKind::Npm,
            2,
            NPX_VALUE_FLAGS,
            &["-p", "--package"],
        ),
        ("pnpm", "dlx") => ("pnpm dlx", PackageKind::Npm, 2, NPX_VALUE_FLAGS, &[]),
        ("yarn", "dlx") => (
            "yarn dlx",
            PackageKind::Npm,
            2,
            NPX_VALUE_FLAGS,
            &["-p", "--package"],
        ),
        ("bun", "x") => ("bun x", PackageKind::Npm, 2, NPX_VALUE_FLAGS, &[]),
        ("uvx", _) => ("uvx", PackageKind::Python, 1, UVX_VALUE_FLAGS, &["--from"]),
        ("uv", "tool") if argv.get(2) == Some(&"run") => (
            "uv tool run",
            PackageKind::Python,
            3,
            UVX_VALUE_FLAGS,
            &["--from"],
        ),
        ("pipx", "run") => (
            "pipx run",
            PackageKind::Python,
            2,
            UVX_VALUE_FLAGS,
            &["--spec"],
        ),
        ("docker" | "podman", "run" | "container")
            if sub == "run" || argv.get(2) == Some(&"run") =>
        {
            (
                if prog == "docker" {
                    "docker run"
                } else {
                    "podman run"
                },
                PackageKind::Image,
                if sub == "run" { 2 } else { 3 },
                DOCKER_VALUE_FLAGS,
                &[],
            )
        }
        _ => return None,
    };
    let (index, spec) = first_operand(argv, from, values, pkg_flags)?;
    Some(Launched {
        runner,
        kind,
        spec,
        index,
    })
}

fn prog_static(prog: &str) -> &'static str {
    match prog {
        "pnpx" => "pnpx",
        "bunx" => "bunx",
        _ => "npx",
    }
}

/// `@scope/name@1.2.3` -> `@scope/name`; `name==1.0` -> `name`.
pub fn package_name(spec: &str) -> &str {
    if let Some(p) = spec.find("==") {
        return &spec[..p];
    }
    let start = usize::from(spec.starts_with('@'));
    match spec[start..].find('@') {
        Some(p) => &spec[..start + p],
        None => spec,
    }
}

/// An exact semantic version: `1.2.3`, `1.2.3-rc.1`, `2025.4.8` (not `^1`, `~1.2`, `latest`).
fn exact_version(v: &str) -> bool {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let parts: Vec<&str> = core.split('.').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}

/// An exact Python version pin: `==1.2.3` / `==1.2` (not `>=`, `~=`, `===` wildcard).
fn exact_python(spec: &str) -> bool {
    match spec.split_once("==") {
        Some((_, v)) => {
            !v.is_empty()
                && !v.contains('*')
                && !v.contains(',')
                && v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'+' | b'!'))
        }
        None => match spec.rsplit_once('@') {
            // uvx also accepts `pkg@1.2.3`.
            Some((_, v)) if !spec.starts_with('@') || spec.matches('@').count() > 1 => {
                v.bytes().all(|b| b.is_ascii_digit() || b == b'.') && v.contains('.')
            }
            _ => false,
        },
    }
}

/// Whether an npm spec names a local path, git repository or tarball rather than a registry package.
fn npm_non_registry(spec: &str) -> bool {
    spec.starts_with('.')
        || spec.starts_with('/')
        || spec.contains("://")
        || ["file:", "git+", "github:", "gitlab:", "bitbucket:", "npm:"]
            .iter()
            .any(|p| spec.starts_with(p))
}

/// A package spec or image as it may be shown: a URL loses its userinfo,
/// query and fragment (`git+https://user:TOKEN@host/r.git?x#y` becomes
/// `git+https://host/r.git`), and anything a detector calls a secret is cut.
pub fn display_spec(spec: &str) -> String {
    let shown = match spec.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.split(['?', '#']).next().unwrap_or("");
            let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
            let host = authority.rsplit('@').next().unwrap_or(authority);
            if path.is_empty() {
                format!("{scheme}://{host}")
            } else {
                format!("{scheme}://{host}/{path}")
            }
        }
        None => spec.to_string(),
    };
    let hits = super::detect::scan_args(&[shown.as_str()]);
    match hits.first() {
        Some(h) => format!("{}[secret]", shown.get(..h.hit.range.start).unwrap_or("")),
        None => shown,
    }
}

/// Why `launched` is not pinned, or `None` when it is.
pub fn unpinned_reason(launched: &Launched<'_>) -> Option<String> {
    let shown = display_spec(launched.spec);
    let spec = shown.as_str();
    let runner = launched.runner;
    match launched.kind {
        PackageKind::Npm => {
            if npm_non_registry(spec) {
                return None;
            }
            let name = package_name(spec);
            let version = spec.get(name.len() + 1..).unwrap_or("");
            if version.is_empty() {
                Some(format!(
                    "{runner} runs {name} without a version (whatever was published last)"
                ))
            } else if !exact_version(version) {
                Some(format!(
                    "{runner} runs {name}@{version}, not an exact version"
                ))
            } else {
                None
            }
        }
        PackageKind::Python => {
            if exact_python(spec) {
                None
            } else {
                Some(format!(
                    "{runner} runs {} without an exact ==version",
                    package_name(spec)
                ))
            }
        }
        PackageKind::Image => {
            let pinned = spec
                .split_once("@sha256:")
                .is_some_and(|(_, d)| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()));
            if pinned {
                None
            } else {
                Some(format!(
                    "{runner} runs image {spec} without an @sha256: digest"
                ))
            }
        }
    }
}

/// Why the command in `argv` (command first) runs something unpinned: the
/// wrapper itself when launched by a package runner, else the wrapped command.
pub fn unpinned(argv: &[&str]) -> Option<String> {
    let mut start = 0;
    // Bounded: each wrapper moves strictly forward.
    for _ in 0..8 {
        let rest = argv.get(start..)?;
        if let Some(launched) = package_runner(rest)
            && let Some(reason) = unpinned_reason(&launched)
        {
            return Some(reason);
        }
        match wrapper(rest).and_then(|w| w.inner) {
            Some(inner) => start += inner,
            None => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unp(line: &str) -> Option<String> {
        unpinned(&line.split(' ').collect::<Vec<_>>())
    }

    #[test]
    fn npx_without_exact_version_is_unpinned() {
        assert!(unp("npx -y @modelcontextprotocol/server-github").is_some());
        assert!(unp("npx -y chrome-devtools-mcp@latest").is_some());
        assert!(unp("npx --yes pkg@^1.2.0").is_some());
        assert!(unp("npx.cmd -y pkg").is_some());
        assert!(unp("npx -y @modelcontextprotocol/server-github@2025.4.8").is_none());
        assert!(unp("npx -y pkg@1.2.3-beta.1").is_none());
        assert!(unp("npx -p pkg@1.0.0 bin-name").is_none());
        assert!(unp("npx --package=pkg bin-name").is_some());
        assert!(unp("pnpm dlx pkg@1.0.0").is_none());
        assert!(unp("bunx pkg").is_some());
        assert!(unp("npx ./local-server").is_none());
    }

    #[test]
    fn python_runners_need_exact_pins() {
        assert!(unp("uvx mcp-server-fetch").is_some());
        assert!(unp("uvx mcp-server-fetch==2025.4.7").is_none());
        assert!(unp("uvx mcp-server-fetch>=1.0").is_some());
        assert!(unp("uvx --from mcp-server-git==0.6.2 mcp-server-git").is_none());
        assert!(unp("uvx --python 3.12 mcp-server-git").is_some());
        assert!(unp("uvx ruff@0.6.0").is_none());
        assert!(unp("pipx run pkg").is_some());
        assert!(unp("uv tool run pkg==1.0").is_none());
    }

    #[test]
    fn images_need_digests() {
        assert!(
            unp("docker run -i --rm -e GITHUB_TOKEN ghcr.io/github/github-mcp-server").is_some()
        );
        assert!(unp("docker run -i --rm ghcr.io/github/github-mcp-server:v1.0").is_some());
        let digest = format!("ghcr.io/x/y@sha256:{}", "a".repeat(64));
        assert!(unp(&format!("docker run -i --rm -v /a:/b --name n {digest}")).is_none());
        assert!(unp(&format!("podman run --env=K=V {digest}")).is_none());
    }

    #[test]
    fn wrappers_are_seen_through() {
        assert!(unp("mcp-warden run K=local://x -- npx -y pkg").is_some());
        assert!(unp("mcp-warden run K=local://x -- npx -y pkg@1.0.0").is_none());
        // The wrapper itself unpinned gets the secrets: that is what is reported.
        let r =
            unp("npx -y @astrixsecurity/mcp-secret-wrapper K=arn -- docker run -i img").unwrap();
        assert!(r.contains("mcp-secret-wrapper"), "{r}");
        assert!(
            unp("npx -y @astrixsecurity/mcp-secret-wrapper@1.0.3 K=arn -- docker run -i img")
                .unwrap()
                .contains("img")
        );
        assert_eq!(
            wrapper(&["op", "run", "--", "node", "s.js"]).map(|w| w.inner),
            Some(Some(3))
        );
    }

    #[test]
    fn specs_are_shown_without_credentials() {
        assert_eq!(
            display_spec(
                "git+https://oauth2:glpat-AbCdEfGhIjKlMnOpQrSt@gitlab.com/o/r.git?x=1#main"
            ),
            "git+https://gitlab.com/o/r.git"
        );
        assert_eq!(
            display_spec("https://registry.example/pkg.tgz?token=abc"),
            "https://registry.example/pkg.tgz"
        );
        assert_eq!(display_spec("@scope/pkg@1.2.3"), "@scope/pkg@1.2.3");
        let r =
            unp("uvx --from git+https://oauth2:glpat-AbCdEfGhIjKlMnOpQrSt@gitlab.com/o/r.git tool")
                .unwrap();
        assert!(!r.contains("glpat-"), "{r}");
    }

    #[test]
    fn plain_commands_are_not_package_runners() {
        assert!(unp("node server.js").is_none());
        assert!(unp("python -m my_server").is_none());
        assert!(unp("npx").is_none());
        assert!(unp("docker run").is_none());
    }
}
