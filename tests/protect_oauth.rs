//! `protect` imports a real mcp-remote OAuth cache and `restore` puts it
//! back. The cache is made by running mcp-remote 0.15.1 (package.json)
//! against the oauth-e2e world: the real `oidc-provider` and an MCP server
//! that introspects its tokens, the sign-in done by the plain-HTTP browser
//! given to mcp-remote as `BROWSER` (mcp-remote's `open` runs its bundled
//! xdg-open, which on a machine without a desktop runs `$BROWSER URL`):
//! tests/common/oauth.rs's `mcp_remote_cache`.
//!
//! Then: a Cursor entry `npx -y mcp-remote URL PORT --auth-timeout 60` is protected: the grant
//! is in the token store, the plaintext files are gone, the entry starts
//! `mcp-warden connect URL`, and no token byte is left under either home;
//! `connect` lists the tools with the imported tokens and no new sign-in;
//! `restore` gives back the files (bytes and modes) and the entry byte for
//! byte, and forgets the imported grant.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use common::oauth::{
    Browser, Options, Transcript, UserHome, World, assert_no_token_bytes, bridge, mcp_remote_cache,
    server_tools,
};
use common::output::text;
use serde_json::Value;

const LIMIT: Duration = Duration::from_secs(90);

/// The folder mcp-remote 0.15.1 keeps its caches in, under `home`.
fn cache_dir(home: &UserHome) -> PathBuf {
    home.home.path().join(".mcp-auth").join("mcp-remote-v1")
}

/// Every file of the cache folder with its bytes and mode.
fn cache_files(home: &UserHome) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    for e in std::fs::read_dir(cache_dir(home))
        .into_iter()
        .flatten()
        .flatten()
    {
        let m = e.metadata().unwrap();
        if m.is_file() {
            out.insert(
                e.path(),
                (
                    std::fs::read(e.path()).unwrap(),
                    m.permissions().mode() & 0o7777,
                ),
            );
        }
    }
    out
}

/// Signs in with mcp-remote (tests/common/oauth.rs), which leaves its
/// plaintext cache under `home`.
fn sign_in_with_mcp_remote(world: &World, home: &UserHome) {
    let files = mcp_remote_cache(world, home.home.path());
    let named = |end: &str| files.iter().any(|p| p.to_string_lossy().ends_with(end));
    assert!(
        named("_tokens.json") && named("_client_info.json"),
        "mcp-remote left no token cache: {files:?}"
    );
}

/// `.cursor/mcp.json` with an entry running mcp-remote as a user writes it.
fn cursor_config(home: &UserHome, url: &str) -> PathBuf {
    client_config(home, ".cursor/mcp.json", url)
}

/// A config in the `mcpServers` shape at `rel` under the home.
fn client_config(home: &UserHome, rel: &str, url: &str) -> PathBuf {
    let p = home.home.path().join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(
        &p,
        format!(
            "{{\n  \"mcpServers\": {{\n    \"tasks\": {{\n      \"command\": \"npx\",\n      \"args\": [\"-y\", \"mcp-remote\", \"{url}\", \"3334\", \"--auth-timeout\", \"60\"]\n    }}\n  }}\n}}\n"
        ),
    )
    .unwrap();
    p
}

/// `mcp-warden VERB --home HOME args...` for this user.
fn warden(home: &UserHome, verb: &str, args: &[&str], seen: &mut Transcript) -> Output {
    let mut c = home.cmd();
    c.arg(verb);
    if verb == "protect" {
        c.arg("--home").arg(home.home.path());
    }
    c.args(args);
    let out = home.run(c, LIMIT);
    seen.output(verb, &out);
    out
}

/// The token store's index (nothing secret).
fn index(home: &UserHome) -> Value {
    let p = home.warden.path().join("oauth").join("index.json");
    serde_json::from_slice(&std::fs::read(p).unwrap_or_else(|_| b"{}".to_vec())).unwrap()
}

/// The entry's argv after protect.
fn entry_argv(config: &Path) -> Vec<String> {
    let v: Value = serde_json::from_slice(&std::fs::read(config).unwrap()).unwrap();
    let e = &v["mcpServers"]["tasks"];
    let mut argv = vec![e["command"].as_str().unwrap_or_default().to_string()];
    argv.extend(
        e["args"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|a| a.as_str().map(str::to_string)),
    );
    argv
}

/// A world, a user who signed in with mcp-remote, and their Cursor config.
struct Migrated {
    world: World,
    home: UserHome,
    seen: Transcript,
    config: PathBuf,
    config_before: Vec<u8>,
    /// Windsurf's config, with the same entry: it shares the cache.
    other: PathBuf,
    other_before: Vec<u8>,
    cache_before: BTreeMap<PathBuf, (Vec<u8>, u32)>,
}

/// Signs in with mcp-remote, then runs protect (dry run, then --apply) and
/// checks what a user would see.
fn protect_a_real_cache(o: Options) -> Migrated {
    let world = World::start(o);
    let home = UserHome::new();
    let mut seen = Transcript::default();
    sign_in_with_mcp_remote(&world, &home);
    let config = cursor_config(&home, &world.mcp_url);
    let config_before = std::fs::read(&config).unwrap();
    let other = client_config(&home, ".codeium/windsurf/mcp_config.json", &world.mcp_url);
    let other_before = std::fs::read(&other).unwrap();
    let cache_before = cache_files(&home);

    let dry = warden(&home, "protect", &[], &mut seen);
    assert!(dry.status.success(), "{}", text(&dry));
    let dry_err = String::from_utf8_lossy(&dry.stderr);
    assert!(
        dry_err.contains("would import 1 mcp-remote OAuth cache(s)")
            && dry_err.contains("would be imported into the token store local://"),
        "{dry_err}"
    );
    assert!(
        String::from_utf8_lossy(&dry.stdout).contains("\"connect\""),
        "the dry run shows no connect entry: {}",
        text(&dry)
    );
    assert_eq!(
        cache_files(&home),
        cache_before,
        "the dry run changed the cache"
    );
    assert_eq!(std::fs::read(&config).unwrap(), config_before);

    let run = warden(&home, "protect", &["--apply"], &mut seen);
    assert!(run.status.success(), "{}\n{}", text(&run), world.logs());
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("imported 1 mcp-remote OAuth cache(s)")
            && err.contains("tasks: mcp-remote's OAuth tokens"),
        "{err}"
    );
    assert!(
        cache_files(&home).is_empty(),
        "plaintext left: {:?}",
        cache_files(&home).keys().collect::<Vec<_>>()
    );
    let argv = entry_argv(&config);
    assert_eq!(&argv[1..], ["connect", world.mcp_url.as_str()], "{argv:?}");
    assert!(argv[0].ends_with("mcp-warden"), "{argv:?}");
    assert_eq!(entry_argv(&other), argv, "the entry sharing the cache");

    let grants = index(&home)["grants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(grants.len(), 1, "{grants:?}");
    let client_info = cache_before
        .iter()
        .find(|(p, _)| p.to_string_lossy().ends_with("_client_info.json"))
        .map(|(_, (b, _))| serde_json::from_slice::<Value>(b).unwrap())
        .unwrap();
    assert_eq!(grants[0]["key"]["resource"], world.mcp_url.as_str());
    assert_eq!(grants[0]["key"]["client_id"], client_info["client_id"]);
    assert_eq!(
        grants[0]["key"]["issuer"]
            .as_str()
            .map(|s| s.trim_end_matches('/')),
        Some(world.issuer.as_str())
    );
    assert_eq!(grants[0]["has_refresh"], true);
    assert!(
        grants[0]["endpoints"]["token_endpoint"]
            .as_str()
            .is_some_and(|t| t.starts_with(&world.issuer)),
        "{grants:?}"
    );
    // `login --list` shows the imported grant as any other.
    let list = warden(&home, "login", &["--list", "--json"], &mut seen);
    assert!(list.status.success(), "{}", text(&list));
    let listed = String::from_utf8_lossy(&list.stdout);
    assert!(
        listed.contains(&world.mcp_url)
            && listed.contains(client_info["client_id"].as_str().unwrap()),
        "{listed}"
    );
    // No token byte under either home, in the output or the journal.
    assert_no_token_bytes(&world, &home, &seen);
    Migrated {
        world,
        home,
        seen,
        config,
        config_before,
        other,
        other_before,
        cache_before,
    }
}

#[test]
fn a_real_mcp_remote_cache_is_imported_and_restore_puts_it_back_byte_for_byte() {
    let mut m = protect_a_real_cache(Options::default());
    let dry = warden(&m.home, "restore", &[], &mut m.seen);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(
        String::from_utf8_lossy(&dry.stderr).contains("_tokens.json: would be put back"),
        "{}",
        text(&dry)
    );
    assert!(cache_files(&m.home).is_empty());

    let back = warden(&m.home, "restore", &["--apply"], &mut m.seen);
    assert!(back.status.success(), "{}", text(&back));
    assert_eq!(
        std::fs::read(&m.config).unwrap(),
        m.config_before,
        "the entry is not back byte for byte"
    );
    assert_eq!(std::fs::read(&m.other).unwrap(), m.other_before);
    let now = cache_files(&m.home);
    assert_eq!(
        now.keys().collect::<Vec<_>>(),
        m.cache_before.keys().collect::<Vec<_>>()
    );
    for (p, (bytes, mode)) in &m.cache_before {
        let (b, md) = &now[p];
        assert!(b == bytes, "{} is not back byte for byte", p.display());
        assert_eq!(md, mode, "{} has another mode", p.display());
    }
    assert_eq!(
        index(&m.home)["grants"].as_array().map(Vec::len),
        Some(0),
        "restore left the imported grant in the token store"
    );
    // The files hold tokens again (that is the point of restore); the
    // canary holds for the rest: mcp-warden's home and every output.
    for f in m.cache_before.keys() {
        std::fs::remove_file(f).unwrap();
    }
    assert_no_token_bytes(&m.world, &m.home, &m.seen);
    m.world.stop();
}

#[test]
fn connect_lists_the_tools_with_the_imported_tokens_without_a_new_sign_in() {
    let mut m = protect_a_real_cache(Options::default());
    let before = m.world.state();
    let argv = entry_argv(&m.config);
    // As Cursor starts it: no browser, no desktop (a sign-in would fail).
    let mut c = m.home.cmd();
    c.args(&argv[1..]);
    let b = bridge(c, &["whoami"], LIMIT);
    m.seen.bridge("connect", &b);
    assert_eq!(
        b.tools(),
        server_tools(),
        "connect did not list the tools with the imported tokens: {}\n{}",
        b.stderr,
        m.world.logs()
    );
    let after = m.world.state();
    assert_eq!(
        after.count("authorizations"),
        before.count("authorizations"),
        "connect signed in again"
    );
    assert_eq!(
        after.token_success("authorization_code"),
        before.token_success("authorization_code")
    );

    // The imported refresh token and client work too: once the server stops
    // accepting the access token (the provider forgets it; the refresh token
    // stays valid), connect refreshes with them instead of signing in.
    m.world.forget_access_tokens();
    let mut c = m.home.cmd();
    c.args(&argv[1..]);
    let b = bridge(c, &["whoami"], LIMIT);
    m.seen.bridge("connect after a 401", &b);
    assert_eq!(
        b.tools(),
        server_tools(),
        "{}\n{}",
        b.stderr,
        m.world.logs()
    );
    let last = m.world.state();
    assert!(
        last.token_success("refresh_token") > after.token_success("refresh_token"),
        "connect did not refresh with the imported refresh token: {:?}",
        last.0["counts"]
    );
    assert_eq!(last.count("authorizations"), before.count("authorizations"));
    assert_no_token_bytes(&m.world, &m.home, &m.seen);
    m.world.stop();
}

#[test]
fn an_import_that_cannot_finish_changes_nothing() {
    let mut world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    sign_in_with_mcp_remote(&world, &home);
    let config = cursor_config(&home, &world.mcp_url);
    let config_before = std::fs::read(&config).unwrap();
    let cache_before = cache_files(&home);
    // The authorization server is gone: its token endpoint cannot be found.
    world.stop();
    let run = warden(&home, "protect", &["--apply"], &mut seen);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let err = String::from_utf8_lossy(&run.stderr);
    let line = err
        .lines()
        .find(|l| l.contains("not changed"))
        .unwrap_or_default();
    assert!(
        line.contains("tasks: cannot import mcp-remote's OAuth cache: ")
            && line.contains("127.0.0.1"),
        "{err}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), config_before);
    assert_eq!(cache_files(&home), cache_before, "the cache changed");
    assert_eq!(
        index(&home)["grants"].as_array().map_or(0, Vec::len),
        0,
        "a grant was left in the token store"
    );
    let journal = home.warden.path().join("journal");
    assert!(
        std::fs::read_dir(&journal).map_or(true, |mut d| d.next().is_none()),
        "a journal record was left"
    );
}

#[test]
fn a_cache_no_entry_names_is_reported_not_silently_left() {
    let home = UserHome::new();
    let dir = cache_dir(&home);
    std::fs::create_dir_all(&dir).unwrap();
    let canary = common::unique("at-canary");
    let tokens = dir.join("0123456789abcdef0123456789abcdef_tokens.json");
    std::fs::write(&tokens, format!("{{\"access_token\":\"{canary}\"}}")).unwrap();
    let gemini = home
        .home
        .path()
        .join(".gemini")
        .join("mcp-oauth-tokens.json");
    std::fs::create_dir_all(gemini.parent().unwrap()).unwrap();
    std::fs::write(
        &gemini,
        format!(
            "[{{\"serverName\":\"s\",\"token\":{{\"accessToken\":\"{canary}\",\"tokenType\":\"Bearer\"}}}}]"
        ),
    )
    .unwrap();
    let mut seen = Transcript::default();
    let out = warden(&home, "protect", &["--apply"], &mut seen);
    let t = text(&out);
    assert!(!t.contains(&canary), "a token was printed");
    assert!(
        t.contains(
            "_tokens.json: cannot import: no client entry protect read runs `mcp-remote URL`"
        ) && t.contains("mcp-warden login URL"),
        "{t}"
    );
    assert!(
        t.contains("mcp-oauth-tokens.json") && t.contains("cannot import: Gemini CLI connects"),
        "{t}"
    );
    assert!(
        tokens.exists() && gemini.exists(),
        "a file it could not import was removed"
    );
}

#[test]
fn each_client_shape_gets_its_connect_entry_in_the_dry_run() {
    let home = UserHome::new();
    let url = "https://mcp.example.com/mcp";
    let dir = cache_dir(&home);
    std::fs::create_dir_all(&dir).unwrap();
    let canary = common::unique("at-canary");
    let hash = {
        // mcp-remote's name for `mcp-remote URL`: MD5 of the URL (node's crypto).
        let out = std::process::Command::new(common::service_env("MCP_WARDEN_TEST_NODE"))
            .args([
                "-e",
                "process.stdout.write(require('crypto').createHash('md5').update(process.argv[1]).digest('hex'))",
                url,
            ])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    assert_eq!(hash.len(), 32);
    std::fs::write(
        dir.join(format!("{hash}_tokens.json")),
        format!("{{\"access_token\":\"{canary}\",\"token_type\":\"Bearer\"}}"),
    )
    .unwrap();
    std::fs::write(
        dir.join(format!("{hash}_client_info.json")),
        "{\"client_id\":\"c1\",\"redirect_uris\":[]}",
    )
    .unwrap();
    let cursor = home.home.path().join(".cursor/mcp.json");
    std::fs::create_dir_all(cursor.parent().unwrap()).unwrap();
    std::fs::write(
        &cursor,
        format!("{{\"mcpServers\": {{\"a\": {{\"command\": \"mcp-remote\", \"args\": [\"{url}\", \"--transport\", \"sse-only\"]}}}}}}\n"),
    )
    .unwrap();
    let opencode = home.home.path().join(".config/opencode/opencode.json");
    std::fs::create_dir_all(opencode.parent().unwrap()).unwrap();
    std::fs::write(
        &opencode,
        format!("{{\"mcp\": {{\"b\": {{\"type\": \"local\", \"command\": [\"npx\", \"-y\", \"mcp-remote@0.15.1\", \"{url}\"]}}}}}}\n"),
    )
    .unwrap();
    let mut seen = Transcript::default();
    let out = warden(&home, "protect", &["--to", "local://x/"], &mut seen);
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert!(!stdout.contains(&canary) && !stderr.contains(&canary));
    // Cursor: command + args, the legacy transport kept; opencode: one array.
    assert!(
        stdout.contains(&format!(
            "\"args\": [\"connect\", \"{url}\", \"--transport\", \"sse\", \"--token-store=local://x/\"]"
        )),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!(
            "\"connect\", \"{url}\", \"--token-store=local://x/\"]"
        )),
        "{stdout}"
    );
    // One cache, two entries: imported once, the second entry shares it.
    assert!(
        stderr.contains("would import 1 mcp-remote OAuth cache(s) (2 file(s))"),
        "{stderr}"
    );
}

#[test]
fn a_cache_without_its_registration_is_named_and_its_entry_kept() {
    let home = UserHome::new();
    let url = "http://127.0.0.1:9/mcp";
    let dir = cache_dir(&home);
    std::fs::create_dir_all(&dir).unwrap();
    let canary = common::unique("at-canary");
    // MD5 of the URL: mcp-remote's name for its files.
    let tokens = dir.join("41de1428c5b082cf5ea630e2db10fddd_tokens.json");
    std::fs::write(&tokens, format!("{{\"access_token\":\"{canary}\"}}")).unwrap();
    let config = cursor_config(&home, url);
    let before = std::fs::read(&config).unwrap();
    let mut seen = Transcript::default();
    let out = warden(&home, "protect", &["--apply"], &mut seen);
    let t = text(&out);
    assert!(!t.contains(&canary), "a token was printed");
    assert!(
        t.contains(
            "tasks: mcp-remote OAuth cache: not protected: cannot import: no client registration"
        ),
        "{t}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), before);
    assert!(tokens.exists());
}

#[test]
fn an_older_cache_without_an_issuer_is_imported_through_discovery() {
    let mut world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    sign_in_with_mcp_remote(&world, &home);
    // As an mcp-remote before the versioned store kept it: its own folder,
    // no `issuer` stamped in either file.
    let old = home.home.path().join(".mcp-auth").join("mcp-remote-0.1.29");
    std::fs::create_dir_all(&old).unwrap();
    for (path, (bytes, _)) in cache_files(&home) {
        let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.remove("issuer");
            let name = path.file_name().unwrap();
            std::fs::write(old.join(name), serde_json::to_vec(&v).unwrap()).unwrap();
        }
        std::fs::remove_file(path).unwrap();
    }
    cursor_config(&home, &world.mcp_url);
    let run = warden(&home, "protect", &["--apply"], &mut seen);
    assert!(run.status.success(), "{}\n{}", text(&run), world.logs());
    assert!(
        std::fs::read_dir(&old).unwrap().next().is_none(),
        "the old folder still holds files"
    );
    let grants = index(&home)["grants"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(grants.len(), 1, "{grants:?}");
    assert_eq!(
        grants[0]["key"]["issuer"]
            .as_str()
            .map(|s| s.trim_end_matches('/')),
        Some(world.issuer.as_str()),
        "the issuer was not found from the server's resource metadata"
    );
    assert_no_token_bytes(&world, &home, &seen);
    world.stop();
}

/// `mcp-warden login URL` for this user, through the plain-HTTP browser.
fn warden_login(world: &World, home: &UserHome, seen: &mut Transcript) {
    let mut c = home.with_browser(&world.browser(Browser::Http));
    c.arg("login").arg(&world.mcp_url);
    let out = home.run(c, LIMIT);
    seen.output("login", &out);
    assert!(out.status.success(), "{}\n{}", text(&out), world.logs());
}

/// The names in the local store (`secret ls --json`), nothing secret.
fn local_names(home: &UserHome) -> Vec<String> {
    let mut c = home.cmd();
    c.args(["secret", "ls", "--json"]);
    let out = home.run(c, LIMIT);
    assert!(out.status.success(), "{}", text(&out));
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .filter_map(|v| v["name"].as_str().map(str::to_string))
        .collect()
}

#[test]
fn an_existing_mcp_warden_login_for_the_server_is_not_overwritten_by_an_import() {
    let mut world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    sign_in_with_mcp_remote(&world, &home);
    warden_login(&world, &home, &mut seen);
    let grants_before = index(&home)["grants"].clone();
    let own_client = grants_before[0]["key"]["client_id"].clone();
    let config = cursor_config(&home, &world.mcp_url);
    let config_before = std::fs::read(&config).unwrap();
    let cache_before = cache_files(&home);

    let run = warden(&home, "protect", &["--apply"], &mut seen);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("already holds an mcp-warden login for")
            && err.contains(&format!("run `mcp-warden logout {}` first", world.mcp_url)),
        "{err}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), config_before);
    assert_eq!(cache_files(&home), cache_before, "the cache changed");
    assert_eq!(index(&home)["grants"], grants_before, "the grants changed");
    // mcp-warden's own registration is still the one connect uses.
    let list = warden(&home, "login", &["--list", "--json"], &mut seen);
    assert!(
        String::from_utf8_lossy(&list.stdout).contains(own_client.as_str().unwrap()),
        "{}",
        text(&list)
    );
    let mut c = home.cmd();
    c.arg("connect").arg(&world.mcp_url);
    let b = bridge(c, &["whoami"], LIMIT);
    seen.bridge("connect", &b);
    assert_eq!(b.tools(), server_tools(), "{}\n{}", b.stderr, world.logs());
    assert!(
        !local_names(&home)
            .iter()
            .any(|n| n.starts_with("oauth-file-")),
        "copies of the cache were stored"
    );
    assert_no_token_bytes_but_the_cache(&world, &home, &seen);
    world.stop();
}

/// [`assert_no_token_bytes`] with mcp-remote's cache (left in place on
/// purpose) moved aside for the check and put back.
fn assert_no_token_bytes_but_the_cache(world: &World, home: &UserHome, seen: &Transcript) {
    let dir = home.home.path().join(".mcp-auth");
    let aside = home.warden.path().with_extension("aside");
    std::fs::rename(&dir, &aside).unwrap();
    assert_no_token_bytes(world, home, seen);
    std::fs::rename(&aside, &dir).unwrap();
}

#[test]
fn an_import_whose_token_store_write_fails_takes_back_what_it_stored() {
    let mut world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    sign_in_with_mcp_remote(&world, &home);
    let config = cursor_config(&home, &world.mcp_url);
    let config_before = std::fs::read(&config).unwrap();
    let cache_before = cache_files(&home);
    // The token store's index cannot be locked: the copies, the registration
    // and the tokens are written, then saving the grant fails.
    let lock = home.warden.path().join("oauth").join("index.lock");
    std::fs::create_dir_all(&lock).unwrap();

    let run = warden(&home, "protect", &["--apply"], &mut seen);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("tasks: cannot import mcp-remote's OAuth cache: ")
            && err.contains("nothing removed")
            && !err.contains("could not be"),
        "{err}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), config_before);
    assert_eq!(cache_files(&home), cache_before, "the cache changed");
    let names = local_names(&home);
    assert!(
        !names.iter().any(|n| n.starts_with("oauth-")),
        "the failed import left {names:?} in the store"
    );
    std::fs::remove_dir(&lock).unwrap();
    assert_no_token_bytes_but_the_cache(&world, &home, &seen);
    world.stop();
}

/// The `<hash>` of the cache mcp-remote left under `home`.
fn cache_hash(home: &UserHome) -> String {
    cache_files(home)
        .keys()
        .find_map(|p| {
            let n = p.file_name()?.to_str()?;
            n.strip_suffix("_tokens.json").map(str::to_string)
        })
        .expect("a tokens file")
}

#[test]
fn a_cache_mcp_remote_is_refreshing_is_refused_until_it_quits() {
    let mut world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    sign_in_with_mcp_remote(&world, &home);
    let config = cursor_config(&home, &world.mcp_url);
    let config_before = std::fs::read(&config).unwrap();
    // A refresh under way: mcp-remote's lease names a live process.
    let mut holder = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .unwrap();
    let lease = cache_dir(&home).join(format!("{}_refresh_in_progress.json", cache_hash(&home)));
    std::fs::write(
        &lease,
        format!(
            "{{\"pid\":{},\"nonce\":\"n-1\",\"at\":1764000000000}}",
            holder.id()
        ),
    )
    .unwrap();
    let cache_before = cache_files(&home);

    let run = warden(&home, "protect", &["--apply"], &mut seen);
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains(&format!(
            "mcp-remote (pid {}) is using this cache",
            holder.id()
        )) && err.contains("quit the client that runs it and run protect again"),
        "{err}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), config_before);
    assert_eq!(cache_files(&home), cache_before, "the cache changed");
    assert_eq!(index(&home)["grants"].as_array().map_or(0, Vec::len), 0);

    // The client quit: the lease is stale and the cache is imported.
    holder.kill().unwrap();
    holder.wait().unwrap();
    let run = warden(&home, "protect", &["--apply"], &mut seen);
    assert!(run.status.success(), "{}\n{}", text(&run), world.logs());
    assert!(cache_files(&home).is_empty(), "{}", text(&run));
    assert_eq!(index(&home)["grants"].as_array().map_or(0, Vec::len), 1);
    assert_no_token_bytes(&world, &home, &seen);
    world.stop();
}

#[test]
fn a_cache_naming_an_issuer_the_server_does_not_list_is_refused() {
    let mut world = World::start(Options::default());
    let home = UserHome::new();
    let mut seen = Transcript::default();
    sign_in_with_mcp_remote(&world, &home);
    // A planted cache: both files name another authorization server.
    for (path, (bytes, _)) in cache_files(&home) {
        let mut v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if let Some(o) = v.as_object_mut() {
            o.insert("issuer".into(), "http://127.0.0.1:1/attacker".into());
            std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
        }
    }
    let config = cursor_config(&home, &world.mcp_url);
    let config_before = std::fs::read(&config).unwrap();
    let cache_before = cache_files(&home);
    let run = warden(&home, "protect", &["--apply"], &mut seen);
    assert_eq!(run.status.code(), Some(1), "{}", text(&run));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(
        err.contains("the cache names the issuer http://127.0.0.1:1/attacker, which")
            && err.contains("protected resource metadata does not list"),
        "{err}"
    );
    assert_eq!(std::fs::read(&config).unwrap(), config_before);
    assert_eq!(cache_files(&home), cache_before);
    assert_eq!(index(&home)["grants"].as_array().map_or(0, Vec::len), 0);
    world.stop();
}
