#!/usr/bin/env python3
"""A real browser for tests/oauth.rs: used as `BROWSER` by `mcp-warden
login`/`connect`, it drives headless Chromium (Debian's `chromium` and
`chromium-driver`) through ChromeDriver's W3C WebDriver HTTP endpoints.
Standard library only (no Selenium).

Usage: oauth_chromium.py URL
  env OAUTH_BROWSER_LOG   file to append one JSON line per step (never a
                          query string: codes and state stay out of it)
  env OAUTH_BROWSER_LOGIN the account to sign in as (default "alice")
  env OAUTH_BROWSER_PROFILE  a fresh directory for Chromium's --user-data-dir
                          (default: a new temporary directory, removed after)

It opens URL, fills oidc-provider's sign-in form, presses "Continue" on the
consent page, and waits until the redirect to the client's loopback redirect
URI (the first page outside the authorization server's origin) has loaded.
Chromium resolves no host name (only 127.0.0.1 is reachable) and starts no
background networking. Every wait is bounded; the whole run takes at most
90 s; ChromeDriver (and with it Chromium) is stopped on every exit path.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request

DEADLINE_S = 90
STEP_S = 30
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def log(entry: dict) -> None:
    path = os.environ.get("OAUTH_BROWSER_LOG")
    if path:
        entry["t"] = time.time()
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def where(url: str) -> str:
    p = urllib.parse.urlsplit(url)
    return f"{p.scheme}://{p.netloc}{p.path}"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Driver:
    """One WebDriver session on a ChromeDriver at 127.0.0.1:port."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.session = ""

    def call(self, method: str, path: str, body: dict | None = None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.base}{path}", data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(req, timeout=STEP_S + 5) as res:
                return json.loads(res.read() or b"{}").get("value")
        except urllib.error.HTTPError as e:
            detail = json.loads(e.read() or b"{}").get("value", {})
            raise RuntimeError(f"{method} {path}: {detail.get('error')}: {detail.get('message', '')[:300]}") from None

    def s(self, method: str, path: str, body: dict | None = None):
        return self.call(method, f"/session/{self.session}{path}", body)

    def start(self, profile: str) -> None:
        args = [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            f"--user-data-dir={profile}",
            # Loopback only: no name resolves (the dev pages link a web font).
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
        ]
        caps = {"browserName": "chrome", "goog:chromeOptions": {"binary": CHROMIUM, "args": args}}
        value = self.call("POST", "/session", {"capabilities": {"alwaysMatch": caps}})
        self.session = value["sessionId"]
        self.s("POST", "/timeouts", {"pageLoad": STEP_S * 1000, "script": 5000, "implicit": 0})

    def url(self) -> str:
        return self.s("GET", "/url")

    def find(self, css: str) -> str | None:
        found = self.s("POST", "/elements", {"using": "css selector", "value": css})
        return found[0][ELEMENT] if found else None

    def wait_for(self, what: str, check, limit: float):
        end = time.monotonic() + limit
        while time.monotonic() < end:
            got = check()
            if got:
                return got
            time.sleep(0.1)
        raise RuntimeError(f"timed out waiting for {what} (at {where(self.url())})")


def authorize(d: Driver, url: str) -> str:
    origin = urllib.parse.urlsplit(url)[:2]
    d.s("POST", "/url", {"url": url})
    log({"opened": where(d.url())})
    login = d.wait_for("the sign-in form", lambda: d.find("input[name=login]"), STEP_S)
    d.s("POST", f"/element/{login}/value", {"text": os.environ.get("OAUTH_BROWSER_LOGIN", "alice")})
    password = d.find("input[name=password]")
    d.s("POST", f"/element/{password}/value", {"text": "any-password"})
    d.s("POST", f"/element/{d.find('button[type=submit]')}/click", {})
    log({"form": "login"})

    def consent_or_done():
        if urllib.parse.urlsplit(d.url())[:2] != origin:
            return "done"
        return d.find("input[name=prompt][value=consent]") and "consent"

    state = d.wait_for("the consent page", consent_or_done, STEP_S)
    if state == "consent":
        d.s("POST", f"/element/{d.find('button[type=submit]')}/click", {})
        log({"form": "consent"})

    def redirected():
        here = d.url()
        if urllib.parse.urlsplit(here)[:2] == origin:
            return None
        ready = d.s("POST", "/execute/sync", {"script": "return document.readyState", "args": []})
        return here if ready == "complete" else None

    final = d.wait_for("the loopback redirect", redirected, STEP_S)
    text = d.s("POST", "/execute/sync", {"script": "return document.body ? document.body.innerText : ''", "args": []})
    log({"done": where(final), "page": (text or "")[:500]})
    return final


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: oauth_chromium.py URL", file=sys.stderr)
        return 2
    own_profile = not os.environ.get("OAUTH_BROWSER_PROFILE")
    profile = os.environ.get("OAUTH_BROWSER_PROFILE") or tempfile.mkdtemp(prefix="oauth-chromium-")
    port = free_port()
    logfile = os.environ.get("OAUTH_BROWSER_LOG")
    sink = open(logfile + ".chromedriver", "ab") if logfile else subprocess.DEVNULL  # noqa: SIM115
    # Chromium stays off the test run's private D-Bus (the keyring's bus).
    env = {k: v for k, v in os.environ.items() if k != "DBUS_SESSION_BUS_ADDRESS"}
    driver_proc = subprocess.Popen(
        [CHROMEDRIVER, f"--port={port}"], stdin=subprocess.DEVNULL, stdout=sink, stderr=sink, env=env
    )
    d = Driver(port)
    started = time.monotonic()

    def out_of_time(_sig, _frame):
        raise TimeoutError(f"not done within {DEADLINE_S} s")

    signal.signal(signal.SIGALRM, out_of_time)
    signal.alarm(DEADLINE_S)
    try:
        end = started + STEP_S
        while time.monotonic() < end:
            try:
                if d.call("GET", "/status").get("ready"):
                    break
            except (OSError, RuntimeError):
                pass
            time.sleep(0.1)
        d.start(profile)
        authorize(d, sys.argv[1])
        return 0
    except Exception as e:  # noqa: BLE001 - one line for the test's log, then fail
        log({"error": str(e)})
        print(f"oauth_chromium: {e}", file=sys.stderr)
        return 1
    finally:
        signal.alarm(0)
        if d.session:
            try:
                d.call("DELETE", f"/session/{d.session}")
            except (OSError, RuntimeError):
                pass
        driver_proc.terminate()
        try:
            driver_proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            driver_proc.kill()
            driver_proc.wait()
        if own_profile:
            shutil.rmtree(profile, ignore_errors=True)
        log({"exit": round(time.monotonic() - started, 2)})


if __name__ == "__main__":
    sys.exit(main())
