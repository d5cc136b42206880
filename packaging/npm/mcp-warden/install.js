// postinstall: puts this platform's binary itself where npm's .bin link
// points (bin/mcp-warden), so starting mcp-warden runs no Node at all.
// Only under npm on Unix: yarn and pnpm write shims that run the bin file
// with node, and Windows uses .cmd shims. Never fails the install: if
// anything goes wrong the JavaScript launcher stays and still works.
// The binary is staged under a fresh name created exclusively (a hard link,
// or a copy that refuses an existing path), so a file or symlink planted at
// that name is never written through; then renamed over the launcher.
"use strict";

const fs = require("fs");
const path = require("path");
const { binaryPath } = require("./platform.js");

// Creates `staged` as a new file holding `bin`: a hard link, or a copy on
// another file system. Fails if anything appears at `staged` meanwhile.
function stage(bin, staged) {
  try {
    fs.unlinkSync(staged); // a leftover (or planted) entry: the name, never its target
  } catch (err) {
    if (err.code !== "ENOENT") throw err;
  }
  try {
    fs.linkSync(bin, staged);
  } catch (err) {
    if (err.code === "EEXIST") throw err;
    fs.copyFileSync(bin, staged, fs.constants.COPYFILE_EXCL);
  }
}

function optimize() {
  const agent = process.env.npm_config_user_agent || "";
  if (process.platform === "win32" || !agent.startsWith("npm/")) return "kept the launcher";
  const bin = binaryPath();
  if (bin instanceof Error) return bin.message;
  const launcher = path.join(__dirname, "bin", "mcp-warden");
  const staged = `${launcher}.tmp-${process.pid}`;
  stage(bin, staged);
  try {
    fs.chmodSync(staged, 0o755);
    fs.renameSync(staged, launcher);
  } catch (err) {
    try {
      fs.unlinkSync(staged);
    } catch {
      // already gone
    }
    throw err;
  }
  return null;
}

try {
  const note = optimize();
  if (note && !note.startsWith("kept")) process.stderr.write(`${note}\n`);
} catch (err) {
  process.stderr.write(`mcp-warden: kept the JavaScript launcher (${err.message})\n`);
}
