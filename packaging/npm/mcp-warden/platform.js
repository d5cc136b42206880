// Which @mcp-warden/<platform> package holds this machine's binary, and where.
// Shared by the launcher (bin/mcp-warden) and the postinstall (install.js).
// Only locates the binary: never runs it. A platform package counts only if
// its version is this package's own: a stale or foreign one is never run.
"use strict";

const fs = require("fs");
const path = require("path");

// glibc or not, decided the way npm decides it when it picks the `libc`
// variant of an optional dependency: Node's diagnostic report names the
// glibc it runs on (header.glibcVersionRuntime); no glibc means musl (or a
// static Node, where the static musl binary is the one that runs).
function isGlibc() {
  const report = process.report;
  if (!report || typeof report.getReport !== "function") return false;
  const excludeNetwork = report.excludeNetwork;
  try {
    report.excludeNetwork = true; // no network interface lookups (slow)
    return Boolean(report.getReport().header.glibcVersionRuntime);
  } catch {
    return false;
  } finally {
    report.excludeNetwork = excludeNetwork;
  }
}

// Candidate package names, preferred first. On Linux both libc variants:
// if npm installed only the other one (a lockfile made on another machine,
// --libc), that one is tried before giving up.
function candidates() {
  const base = `@mcp-warden/${process.platform}-${process.arch}`;
  if (process.platform !== "linux") return [base];
  const gnu = `${base}-gnu`;
  const musl = `${base}-musl`;
  return isGlibc() ? [gnu, musl] : [musl, gnu];
}

const exeName = process.platform === "win32" ? "mcp-warden.exe" : "mcp-warden";

function readVersion(manifest) {
  return JSON.parse(fs.readFileSync(manifest, "utf8")).version;
}

// This launcher package's version, the one a platform package must have.
const ownVersion = readVersion(path.join(__dirname, "package.json"));

// `name`'s package.json path, or null where it is not installed.
function manifestOf(name) {
  try {
    return require.resolve(`${name}/package.json`);
  } catch {
    return null;
  }
}

// The binary's path, or an Error naming what to install.
function binaryPath() {
  const names = candidates();
  const mismatched = [];
  for (const name of names) {
    const manifest = manifestOf(name);
    if (manifest === null) continue;
    let version;
    try {
      version = readVersion(manifest);
    } catch {
      version = "unreadable";
    }
    if (version !== ownVersion) {
      mismatched.push(`${name}@${version}`);
      continue;
    }
    return path.join(path.dirname(manifest), "bin", exeName);
  }
  if (mismatched.length > 0) {
    return new Error(
      `mcp-warden: no binary for ${process.platform}-${process.arch}: ` +
        `${mismatched.join(", ")} installed, but mcp-warden is ${ownVersion}; ` +
        `reinstall mcp-warden@${ownVersion} so npm installs the matching platform package`,
    );
  }
  return new Error(
    `mcp-warden: no binary for ${process.platform}-${process.arch}: ` +
      `none of ${names.join(", ")} is installed (was it installed with ` +
      `--omit=optional?); reinstall mcp-warden with optional dependencies, ` +
      `or use a release binary`,
  );
}

module.exports = { binaryPath, exeName };
