// postinstall: puts this platform's binary itself where npm's .bin link
// points (bin/mcp-warden), so starting mcp-warden runs no Node at all.
// Only under npm on Unix: yarn and pnpm write shims that run the bin file
// with node, and Windows uses .cmd shims. Never fails the install: if
// anything goes wrong the JavaScript launcher stays and still works.
"use strict";

const fs = require("fs");
const path = require("path");
const { binaryPath } = require("./platform.js");

function optimize() {
  const agent = process.env.npm_config_user_agent || "";
  if (process.platform === "win32" || !agent.startsWith("npm/")) return "kept the launcher";
  const bin = binaryPath();
  if (bin instanceof Error) return bin.message;
  const launcher = path.join(__dirname, "bin", "mcp-warden");
  const staged = `${launcher}.tmp-${process.pid}`;
  try {
    fs.linkSync(bin, staged);
  } catch {
    fs.copyFileSync(bin, staged); // another file system: a copy
  }
  fs.chmodSync(staged, 0o755);
  fs.renameSync(staged, launcher);
  return null;
}

try {
  const note = optimize();
  if (note && !note.startsWith("kept")) process.stderr.write(`${note}\n`);
} catch (err) {
  process.stderr.write(`mcp-warden: kept the JavaScript launcher (${err.message})\n`);
}
