//! The secured node of `cargo xtask kafka up --secure`: its address, CA and
//! the generated passwords of its users (read from the files `up` wrote, so
//! no password is ever in this code).

use std::net::TcpStream;
use std::path::PathBuf;
use std::time::Duration;

use kafka_layout::secure;

use crate::lesson::Login;

/// The secured node is not there. The message says how to start it.
#[derive(Debug, thiserror::Error)]
#[error(
    "the secured Kafka node is not running ({reason}). Start it with \
     `cargo xtask kafka up --secure` (SASL_SSL on {address}; `cargo xtask test` starts it for \
     this chapter's tests)"
)]
pub struct NodeMissing {
    pub address: String,
    pub reason: String,
}

/// The running secured node.
#[derive(Debug, Clone)]
pub struct SecureNode {
    pub bootstrap: String,
    pub ca: PathBuf,
}

impl SecureNode {
    /// Finds the node: its CA file, its credentials and an open port.
    pub fn find() -> Result<SecureNode, NodeMissing> {
        let address = secure::bootstrap();
        let missing = |reason: String| NodeMissing {
            address: address.clone(),
            reason,
        };
        let ca = secure::require_ca().map_err(|e| missing(e.to_string()))?;
        secure::password(secure::ADMIN).map_err(|e| missing(e.to_string()))?;
        let port = kafka_layout::ports::secure_client();
        let reachable = std::net::ToSocketAddrs::to_socket_addrs(&("localhost", port))
            .map(|mut addrs| {
                addrs.any(|a| TcpStream::connect_timeout(&a, Duration::from_secs(2)).is_ok())
            })
            .unwrap_or(false);
        if !reachable {
            return Err(missing(format!("nothing accepts connections on {address}")));
        }
        Ok(SecureNode {
            bootstrap: address,
            ca,
        })
    }

    /// The login of `user` with its generated password, trusting our CA.
    pub fn login(&self, user: &str) -> anyhow::Result<Login> {
        Ok(Login::new(
            &self.bootstrap,
            Some(self.ca.clone()),
            user,
            secure::password(user)?,
        ))
    }

    /// The Kafka tools' client properties for `user` (written to a private
    /// temporary file; the admin's file is `kafka_layout::secure::admin_properties`).
    pub fn tool_properties(&self, user: &str) -> anyhow::Result<PathBuf> {
        let path = secure::dir().join(format!("{user}.properties"));
        let text = format!(
            "security.protocol=SASL_SSL\n\
             ssl.truststore.type=PEM\n\
             ssl.truststore.location={}\n\
             sasl.mechanism={}\n\
             sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required \
             username=\"{user}\" password=\"{}\";\n",
            self.ca.display(),
            secure::MECHANISM,
            secure::password(user)?
        );
        std::fs::write(&path, text)?;
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))?;
        Ok(path)
    }
}
