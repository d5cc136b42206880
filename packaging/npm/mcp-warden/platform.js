// Which @mcp-warden/<platform> package holds this machine's binary, and where.
// Shared by the launcher (bin/mcp-warden) and the postinstall (install.js).
// Only locates the binary: never runs it.
"use strict";

const fs = require("fs");
const path = require("path");

// musl's dynamic loader is /lib/ld-musl-<arch>.so.1 (Alpine and the like);
// a directory listing, much cheaper than process.report.
function isMusl() {
  try {
    return fs.readdirSync("/lib").some((f) => f.startsWith("ld-musl-"));
  } catch {
    return false;
  }
}

// Candidate package names, preferred first (a musl binary also runs on glibc).
function candidates() {
  const base = `@mcp-warden/${process.platform}-${process.arch}`;
  if (process.platform !== "linux") return [base];
  return isMusl() ? [`${base}-musl`] : [`${base}-gnu`, `${base}-musl`];
}

const exeName = process.platform === "win32" ? "mcp-warden.exe" : "mcp-warden";

// The binary's path, or an Error naming what to install.
function binaryPath() {
  const names = candidates();
  for (const name of names) {
    try {
      const manifest = require.resolve(`${name}/package.json`);
      return path.join(path.dirname(manifest), "bin", exeName);
    } catch {
      // not installed: try the next one
    }
  }
  return new Error(
    `mcp-warden: no binary for ${process.platform}-${process.arch}: ` +
      `none of ${names.join(", ")} is installed (was it installed with ` +
      `--omit=optional?); reinstall mcp-warden with optional dependencies, ` +
      `or use a release binary`,
  );
}

module.exports = { binaryPath, exeName };
