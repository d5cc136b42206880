#!/usr/bin/env python3
"""A plain-HTTP stand-in for a user's browser, for tests/oauth.rs: used as
`BROWSER` by `mcp-warden login`/`connect` when a test does not need a real
browser (tests/py/oauth_chromium.py is the real one). Standard library only.

Usage: oauth_http_browser.py URL
  env OAUTH_BROWSER_LOG   file to append one JSON line per step (never a
                          query string: codes and state stay out of it)
  env OAUTH_BROWSER_LOGIN the account to sign in as (default "alice")

It does what a user does with oidc-provider's dev interaction pages: follows
redirects (keeping cookies), fills the sign-in form (any login and password),
presses "Continue" on the consent page, and finally loads the redirect to
the client's loopback redirect URI (the first redirect leaving the
authorization server's origin). At most 20 steps, 10 s per request.
"""

from __future__ import annotations

import html.parser
import http.cookiejar
import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

MAX_STEPS = 20
TIMEOUT_S = 10


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Hands 3xx answers back instead of following them."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: ARG002
        return None


class Forms(html.parser.HTMLParser):
    """The forms of a page: action, method and named inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get"), "inputs": {}})
        elif tag == "input" and self.forms and a.get("name"):
            self.forms[-1]["inputs"][a["name"]] = a.get("value") or ""


def log(entry: dict) -> None:
    path = os.environ.get("OAUTH_BROWSER_LOG")
    if path:
        entry["t"] = time.time()
        with open(path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")


def where(url: str) -> str:
    """The URL without its query: what may be logged."""
    p = urllib.parse.urlsplit(url)
    return f"{p.scheme}://{p.netloc}{p.path}"


def fetch(opener, url: str, data: dict | None):
    body = urllib.parse.urlencode(data).encode() if data is not None else None
    req = urllib.request.Request(url, data=body, method="POST" if body is not None else "GET")
    try:
        with opener.open(req, timeout=TIMEOUT_S) as res:
            return res.status, res.headers, res.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode("utf-8", "replace")


def fill(page: str) -> dict | None:
    """The form to submit on this page and its fields, or None."""
    parser = Forms()
    parser.feed(page)
    for form in parser.forms:
        fields = dict(form["inputs"])
        if "login" in fields:
            fields["login"] = os.environ.get("OAUTH_BROWSER_LOGIN", "alice")
            fields["password"] = "any-password"
            return {"action": form["action"], "fields": fields, "step": "login"}
        if fields.get("prompt") == "consent":
            return {"action": form["action"], "fields": fields, "step": "consent"}
    return None


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: oauth_http_browser.py URL", file=sys.stderr)
        return 2
    url = sys.argv[1]
    origin = urllib.parse.urlsplit(url)[:2]
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar), NoRedirect())
    data = None
    for _ in range(MAX_STEPS):
        leaving = urllib.parse.urlsplit(url)[:2] != origin
        status, headers, page = fetch(opener, url, data)
        data = None
        log({"url": where(url), "status": status})
        if leaving:
            log({"done": where(url), "status": status})
            return 0 if status < 400 else 1
        if 300 <= status < 400 and headers.get("Location"):
            url = urllib.parse.urljoin(url, headers["Location"])
            continue
        form = fill(page) if status == 200 else None
        if form is None:
            log({"stuck": where(url), "status": status, "page": page[:2000]})
            print(f"oauth_http_browser: nothing to do at {where(url)} ({status})", file=sys.stderr)
            return 1
        log({"form": form["step"]})
        url = urllib.parse.urljoin(url, form["action"])
        data = form["fields"]
    print("oauth_http_browser: too many steps", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
