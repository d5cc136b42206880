#!/usr/bin/env python3
"""Generate the scan benchmark tree: N files spread over repositories.

    scan_tree.py DIR [--files 50000]

Each of DIR/repo-NNNN holds sources, docs and a package.json; one repository
in ten also has project-level MCP configs (.mcp.json, .vscode/mcp.json,
.cursor/mcp.json) with fake, format-valid tokens, and every repository has a
.gitignore'd node_modules/ whose files the scan must skip (not counted in N).
Deterministic (seeded), so runs compare. Fake tokens only.
"""

from __future__ import annotations

import json
import random
import string
import sys
from pathlib import Path

root = Path(sys.argv[1])
files = int(sys.argv[sys.argv.index("--files") + 1]) if "--files" in sys.argv else 50000
rng = random.Random(20261126)
alnum = string.ascii_letters + string.digits


def tok(n: int) -> str:
    return "".join(rng.choice(alnum) for _ in range(n))


per_repo = 100
repos = max(1, files // per_repo)
written = 0
for r in range(repos):
    repo = root / f"repo-{r:04d}"
    (repo / "src" / "mod").mkdir(parents=True, exist_ok=True)
    (repo / "node_modules" / "dep").mkdir(parents=True, exist_ok=True)
    (repo / ".gitignore").write_text("node_modules/\n")
    (repo / "package.json").write_text(json.dumps({"name": f"repo-{r}", "version": "1.0.0"}))
    (repo / "README.md").write_text("# repo\n" * 20)
    written += 3
    if r % 10 == 0:
        (repo / ".vscode").mkdir(exist_ok=True)
        (repo / ".cursor").mkdir(exist_ok=True)
        (repo / ".mcp.json").write_text(json.dumps({"mcpServers": {
            "github": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"],
                       "env": {"GITHUB_PERSONAL_ACCESS_TOKEN": "ghp_" + tok(36)}},
            "fetch": {"command": "uvx", "args": ["mcp-server-fetch==2025.4.7"]},
        }}, indent=2))
        (repo / ".vscode" / "mcp.json").write_text(json.dumps({
            "inputs": [{"type": "promptString", "id": "k", "password": True}],
            "servers": {"p": {"command": "npx", "args": ["-y", "server-perplexity-ask@0.1.3"],
                              "env": {"PERPLEXITY_API_KEY": "${input:k}"}}}}, indent=2))
        (repo / ".cursor" / "mcp.json").write_text(json.dumps({"mcpServers": {
            "remote": {"url": "https://mcp.example.com/mcp",
                       "headers": {"Authorization": "Bearer " + tok(40)}}}}, indent=2))
        written += 3
    i = 0
    while written < files and i < per_repo - 3 - (3 if r % 10 == 0 else 0):
        sub = "src/mod" if i % 2 else "src"
        (repo / sub / f"f{i}.rs").write_text(f"// file {i}\nfn f{i}() {{}}\n")
        written += 1
        i += 1
    for j in range(20):
        (repo / "node_modules" / "dep" / f"x{j}.js").write_text("module.exports = 1;\n")
# top up to exactly `files` visible files
extra = root / "extra"
extra.mkdir(exist_ok=True)
k = 0
while written < files:
    (extra / f"e{k}.txt").write_text("x\n")
    written += 1
    k += 1
print(json.dumps({"files": written, "repos": repos, "configs": 3 * len(range(0, repos, 10))}))
