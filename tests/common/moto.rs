//! A moto server of a test's own that checks SigV4 signatures and IAM
//! policies after its first `no_auth` calls (the test's fixtures), unlike the
//! shared one scripts/test starts. Loopback only; killed on drop.

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use super::{service_env, wait_until};

pub struct AuthMoto {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl AuthMoto {
    /// Starts it and waits (20 s at most) until it listens.
    pub fn start(no_auth: usize) -> AuthMoto {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let child = Command::new(service_env("MCP_WARDEN_TEST_PYTHON"))
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p"])
            .arg(port.to_string())
            .env("INITIAL_NO_AUTH_ACTION_COUNT", no_auth.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start moto");
        let moto = AuthMoto {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let up = wait_until(Duration::from_secs(20), || {
            TcpStream::connect(("127.0.0.1", port)).is_ok()
        });
        assert!(up, "moto with auth did not start on {port}");
        moto
    }
}

impl Drop for AuthMoto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
