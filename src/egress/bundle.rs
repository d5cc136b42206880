//! The CA bundle file a secretless child trusts (through `SSL_CERT_FILE` and
//! its kin).
//!
//! Owns [`Bundle`]: a private directory `egress-<pid>-<random hex>` under a
//! parent folder holding `ca-bundle.pem` (the system roots, then our CA),
//! removed when the bundle drops, and [`Bundle::sweep_stale`], which removes
//! the directories of runs whose process is gone. It holds certificates only:
//! it must never be handed a key or a secret. The sweep must only ever remove
//! directories matching that exact name pattern, and never follow a symlink.

use std::fs;
use std::io;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use rustls_pki_types::CertificateDer;

use crate::atomic_file;

/// The bundle's file name inside its directory.
pub const FILE_NAME: &str = "ca-bundle.pem";
const DIR_PREFIX: &str = "egress-";

/// Why the bundle could not be written.
#[derive(Debug, thiserror::Error)]
pub enum BundleError {
    #[error("cannot create {}: {source}", path.display())]
    Create { path: PathBuf, source: io::Error },
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: io::Error },
    #[error("the system random number generator failed")]
    Random,
}

/// A written CA bundle; its file and directory are removed when it drops.
#[derive(Debug)]
pub struct Bundle {
    dir: PathBuf,
    file: PathBuf,
}

impl Bundle {
    /// Writes `roots` (as PEM) then `ca_pem` to `parent/egress-<pid>-<hex>/ca-bundle.pem`,
    /// creating `parent` (0700) if missing; the directory is 0700, the file 0600.
    pub fn write(
        parent: &Path,
        roots: &[CertificateDer<'_>],
        ca_pem: &str,
    ) -> Result<Bundle, BundleError> {
        atomic_file::create_private_dir(parent).map_err(|source| BundleError::Create {
            path: parent.to_path_buf(),
            source,
        })?;
        let dir = parent.join(format!(
            "{DIR_PREFIX}{}-{}",
            std::process::id(),
            random_hex()?
        ));
        fs::DirBuilder::new()
            .mode(0o700)
            .create(&dir)
            .map_err(|source| BundleError::Create {
                path: dir.clone(),
                source,
            })?;
        // From here on, dropping `bundle` cleans up whatever was made.
        let bundle = Bundle {
            file: dir.join(FILE_NAME),
            dir,
        };
        let contents = pem_bundle(roots, ca_pem);
        atomic_file::create_new(&bundle.file, contents.as_bytes(), 0o600).map_err(|source| {
            BundleError::Write {
                path: bundle.file.clone(),
                source,
            }
        })?;
        Ok(bundle)
    }

    /// The bundle file.
    pub fn path(&self) -> &Path {
        &self.file
    }

    /// Removes the file and its directory now (as dropping does).
    pub fn remove(self) {
        drop(self)
    }

    /// Removes `parent/egress-<pid>-<hex>` directories whose process is gone.
    /// Anything else (other names, symlinks, files, live or our own pids) is left.
    pub fn sweep_stale(parent: &Path) {
        let Ok(entries) = fs::read_dir(parent) else {
            return;
        };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(pid) = name.to_str().and_then(stale_pid) else {
                continue;
            };
            // file_type() does not follow symlinks.
            let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
            if is_dir && pid != std::process::id() && !alive(pid) {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
}

impl Drop for Bundle {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.file);
        let _ = fs::remove_dir(&self.dir);
    }
}

/// The system's root certificates (honours `SSL_CERT_FILE` and `SSL_CERT_DIR`);
/// unreadable ones are skipped.
pub fn system_roots() -> Vec<CertificateDer<'static>> {
    rustls_native_certs::load_native_certs().certs
}

/// The pid in a directory name `egress-<pid>-<lowercase hex>`, if it is one.
fn stale_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(DIR_PREFIX)?;
    let (pid, hex) = rest.split_once('-')?;
    let digits = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    let hex_ok = !hex.is_empty() && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
    if !(digits && hex_ok) {
        return None;
    }
    pid.parse().ok()
}

/// Whether process `pid` exists (a process we may not signal still exists).
fn alive(pid: u32) -> bool {
    let Some(pid) = i32::try_from(pid)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
    else {
        return false;
    };
    match rustix::process::test_kill_process(pid) {
        Ok(()) => true,
        Err(e) => e != rustix::io::Errno::SRCH,
    }
}

/// 16 random lowercase hex digits.
fn random_hex() -> Result<String, BundleError> {
    let mut bytes = [0u8; 8];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| BundleError::Random)?;
    Ok(hex::encode(bytes))
}

/// Every root as a PEM block, then `ca_pem` (ending in a newline).
fn pem_bundle(roots: &[CertificateDer<'_>], ca_pem: &str) -> String {
    let mut out = String::new();
    for root in roots {
        out.push_str("-----BEGIN CERTIFICATE-----\n");
        let b64 = base64::engine::general_purpose::STANDARD.encode(root.as_ref());
        for line in b64.as_bytes().chunks(64) {
            out.push_str(&String::from_utf8_lossy(line));
            out.push('\n');
        }
        out.push_str("-----END CERTIFICATE-----\n");
    }
    out.push_str(ca_pem);
    if !ca_pem.ends_with('\n') {
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use rustls_pki_types::pem::PemObject;

    use super::*;
    use crate::egress::ca::Authority;

    fn mode(p: &Path) -> u32 {
        fs::metadata(p).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn writes_roots_then_ca_privately() {
        let tmp = tempfile::tempdir().unwrap();
        let parent = tmp.path().join("run");
        let root = Authority::new(&["root.example".to_string()]).unwrap();
        let ca = Authority::new(&["api.example.com".to_string()]).unwrap();
        let bundle = Bundle::write(&parent, &[root.cert_der()], &ca.cert_pem()).unwrap();
        assert_eq!(mode(&parent), 0o700);
        assert_eq!(mode(bundle.path().parent().unwrap()), 0o700);
        assert_eq!(mode(bundle.path()), 0o600);
        let text = fs::read(bundle.path()).unwrap();
        let certs: Vec<_> = CertificateDer::pem_slice_iter(&text)
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(certs, vec![root.cert_der(), ca.cert_der()]);
        let dir_name = bundle.path().parent().unwrap().file_name().unwrap();
        assert_eq!(
            stale_pid(dir_name.to_str().unwrap()),
            Some(std::process::id())
        );
    }

    #[test]
    fn removed_on_drop() {
        let tmp = tempfile::tempdir().unwrap();
        let bundle = Bundle::write(tmp.path(), &[], "").unwrap();
        let file = bundle.path().to_path_buf();
        assert!(file.exists());
        drop(bundle);
        assert!(!file.exists());
        assert!(!file.parent().unwrap().exists());
        let bundle = Bundle::write(tmp.path(), &[], "").unwrap();
        let dir = bundle.path().parent().unwrap().to_path_buf();
        bundle.remove();
        assert!(!dir.exists());
    }

    #[test]
    fn sweep_removes_dead_runs_only() {
        let tmp = tempfile::tempdir().unwrap();
        let ours = Bundle::write(tmp.path(), &[], "").unwrap();
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let dead = child.id();
        child.wait().unwrap();
        let stale = tmp.path().join(format!("egress-{dead}-0a1b"));
        fs::create_dir(&stale).unwrap();
        fs::write(stale.join(FILE_NAME), "x").unwrap();
        let odd = tmp.path().join(format!("egress-{dead}-XYZ"));
        fs::create_dir(&odd).unwrap();
        let target = tmp.path().join("target");
        fs::create_dir(&target).unwrap();
        let link = tmp.path().join(format!("egress-{dead}-ff"));
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let init = tmp.path().join("egress-1-00");
        fs::create_dir(&init).unwrap();

        Bundle::sweep_stale(tmp.path());
        assert!(!stale.exists());
        assert!(ours.path().exists());
        assert!(odd.exists() && target.exists() && init.exists());
        assert!(fs::symlink_metadata(&link).is_ok());
    }

    #[test]
    fn names_parsed_strictly() {
        assert_eq!(stale_pid("egress-12-ab09"), Some(12));
        for bad in [
            "egress--ab",
            "egress-12-",
            "egress-12-AB",
            "egress-1x-ab",
            "x-12-ab",
        ] {
            assert_eq!(stale_pid(bad), None, "{bad}");
        }
    }
}
