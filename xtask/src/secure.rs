//! `cargo xtask kafka up --secure`: a separate, secured Kafka node for
//! chapter 四.6, next to the plain broker on 9092 (which stays as it is).
//!
//! - TLS: a CA and a broker certificate for `localhost` made here with
//!   `rcgen` at every start (PEM files; Kafka reads them with
//!   `ssl.keystore.type=PEM`); the CA certificate is `target/kafka/secure/ca.pem`.
//! - SASL/SCRAM-SHA-512: the users of `kafka_layout::secure::USERS`, with
//!   passwords generated at every start, stored by `kafka-storage format
//!   --add-scram` and written to `credentials.properties` (mode 0600).
//! - Authorization: `StandardAuthorizer`, `allow.everyone.if.no.acl.found=false`,
//!   `super.users` = the admin user and the controller listener's principal.
//! - One `SASL_SSL` listener on localhost:9392 and the controller on
//!   localhost:9393, both loopback only.
//!
//! The node is ephemeral: every `up --secure` wipes its data and makes new
//! certificates and passwords, so no stale secret outlives a run.

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use kafka_layout::ports::{secure_client, secure_controller};
use kafka_layout::secure::{self as layout, ADMIN, MECHANISM, USERS};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};

use crate::kafka::{self, KAFKA_VERSION};

/// How long `up --secure` waits for the node to start (generous: TLS and
/// SCRAM add to a JVM start that competes for two shared cores here).
const START_TIMEOUT: Duration = Duration::from_secs(180);
/// The principal of connections on the controller listener (PLAINTEXT,
/// loopback only): the broker half of this combined node talks to its
/// controller half there, so the authorizer must let it.
const CONTROLLER_PRINCIPAL: &str = "User:ANONYMOUS";
/// The line Kafka logs once every listener accepts connections.
const STARTED_LINE: &str = "Kafka Server started";

/// Where a node's files are seen from: the host (`kafka up --secure`) or the
/// `kafka-secure` container of `docker compose --profile secure`, which
/// mounts `target/kafka/secure` at `/secure`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Host {
    Local,
    Docker,
}

/// The files the node's configuration points to, as `host` sees them.
struct Paths {
    dir: PathBuf,
    data: PathBuf,
}

impl Paths {
    fn of(host: Host) -> Paths {
        match host {
            Host::Local => Paths {
                dir: layout::dir(),
                data: layout::dir().join("data"),
            },
            // Data stays inside the container: ephemeral, like the local node.
            Host::Docker => Paths {
                dir: PathBuf::from("/secure"),
                data: PathBuf::from("/tmp/kafka-secure-data"),
            },
        }
    }
}

fn pid_file() -> PathBuf {
    layout::dir().join("pid")
}

fn config_file() -> PathBuf {
    layout::dir().join("server.properties")
}

/// The secured node's `server.properties` for `host`, given the admin's
/// password (the broker's own client connections log in as the admin).
pub fn server_properties(host: Host, admin_password: &str) -> String {
    let paths = Paths::of(host);
    let client = secure_client();
    let controller = secure_controller();
    // In a container the listener must accept the connections Docker
    // forwards from the host's 127.0.0.1 (compose publishes the port on the
    // loopback only); on the host it binds the loopback itself.
    let bind = match host {
        Host::Local => "localhost",
        Host::Docker => "0.0.0.0",
    };
    format!(
        "# Written by `cargo xtask kafka up --secure`; regenerated on every start.\n\
         node.id=1\n\
         process.roles=broker,controller\n\
         controller.quorum.voters=1@localhost:{controller}\n\
         listeners=SASL_SSL://{bind}:{client},CONTROLLER://localhost:{controller}\n\
         advertised.listeners=SASL_SSL://localhost:{client}\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=SASL_SSL\n\
         listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT\n\
         # TLS: the broker's key and certificate chain, and the CA it trusts, as PEM.\n\
         ssl.keystore.type=PEM\n\
         ssl.keystore.location={dir}/broker.pem\n\
         ssl.truststore.type=PEM\n\
         ssl.truststore.location={dir}/ca.pem\n\
         ssl.endpoint.identification.algorithm=https\n\
         # SASL/SCRAM: credentials are stored in the metadata log (kafka-storage format --add-scram).\n\
         sasl.enabled.mechanisms={MECHANISM}\n\
         sasl.mechanism.inter.broker.protocol={MECHANISM}\n\
         listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{ADMIN}\" password=\"{admin_password}\";\n\
         # Authorization: nothing is allowed without an ACL, except to the super users.\n\
         authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer\n\
         allow.everyone.if.no.acl.found=false\n\
         super.users=User:{ADMIN};{CONTROLLER_PRINCIPAL}\n\
         log.dirs={data}\n\
         num.partitions=1\n\
         default.replication.factor=1\n\
         offsets.topic.replication.factor=1\n\
         transaction.state.log.replication.factor=1\n\
         transaction.state.log.min.isr=1\n\
         share.coordinator.state.topic.replication.factor=1\n\
         share.coordinator.state.topic.min.isr=1\n\
         group.initial.rebalance.delay.ms=0\n\
         delete.topic.enable=true\n\
         auto.create.topics.enable=false\n",
        dir = paths.dir.display(),
        data = paths.data.display(),
    )
}

/// `--add-scram` arguments of `kafka-storage format`, one per user.
fn add_scram_args(credentials: &[(String, String)]) -> Vec<String> {
    credentials
        .iter()
        .flat_map(|(user, password)| {
            [
                "--add-scram".to_string(),
                format!("{MECHANISM}=[name={user},password={password}]"),
            ]
        })
        .collect()
}

/// A password of 24 hex digits from the kernel's random source.
fn random_password() -> Result<String> {
    let mut bytes = [0u8; 12];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .context("reading /dev/urandom for a password")?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Writes `contents` readable by the owner only.
fn write_private(path: &Path, contents: &str) -> Result<()> {
    fs::write(path, contents).with_context(|| format!("writing {}", path.display()))?;
    fs::set_permissions(path, fs::Permissions::from_mode(0o600))?;
    Ok(())
}

// ANCHOR: certificates
/// A CA valid for 30 days and a broker certificate for `localhost` signed
/// by it: `ca.pem` (certificate only) and `broker.pem` (the broker's private
/// key, then its certificate and the CA's: Kafka's PEM keystore format).
/// The CA's private key is never written: nothing else gets signed.
fn write_certificates(dir: &Path) -> Result<()> {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let not_before = epoch + Duration::from_secs(secs.saturating_sub(3600));
    let not_after = epoch + Duration::from_secs(secs + 30 * 86_400);

    let mut ca = CertificateParams::new(Vec::<String>::new())?;
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.distinguished_name
        .push(DnType::CommonName, "rust-kafka-tutorial local CA");
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    ca.not_before = not_before;
    ca.not_after = not_after;
    let ca = CertifiedIssuer::self_signed(ca, KeyPair::generate()?)?;

    // The name clients connect to: `localhost` only, no IP address, so a
    // client that dials 127.0.0.1 fails hostname verification (四.6 shows it).
    let mut broker = CertificateParams::new(vec!["localhost".to_string()])?;
    broker
        .distinguished_name
        .push(DnType::CommonName, "localhost");
    broker.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    // The broker also connects to itself as a client (inter-broker listener).
    broker.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    broker.not_before = not_before;
    broker.not_after = not_after;
    let broker_key = KeyPair::generate()?;
    let broker_cert = broker.signed_by(&broker_key, &ca)?;

    fs::write(dir.join("ca.pem"), ca.pem())?;
    write_private(
        &dir.join("broker.pem"),
        &format!(
            "{}{}{}",
            broker_key.serialize_pem(),
            broker_cert.pem(),
            ca.pem()
        ),
    )?;
    Ok(())
}
// ANCHOR_END: certificates

/// The admin's client settings for the Kafka tools (`--command-config`).
fn admin_properties(host: Host, admin_password: &str) -> String {
    format!(
        "# The secured node's admin, for Kafka tools: --command-config {}\n\
         security.protocol=SASL_SSL\n\
         ssl.truststore.type=PEM\n\
         ssl.truststore.location={}/ca.pem\n\
         sasl.mechanism={MECHANISM}\n\
         sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username=\"{ADMIN}\" password=\"{admin_password}\";\n",
        layout::admin_properties().display(),
        Paths::of(host).dir.display(),
    )
}

/// Everything the node needs, without starting it: certificates,
/// passwords, the configuration for the host and for Docker. Used by
/// `up --secure` and by `kafka secure-files` (for `docker compose --profile secure`).
pub fn prepare() -> Result<Vec<(String, String)>> {
    let dir = layout::dir();
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("removing {}", dir.display()))?;
    }
    fs::create_dir_all(dir.join("data"))?;
    fs::create_dir_all(dir.join("docker"))?;
    fs::set_permissions(&dir, fs::Permissions::from_mode(0o700))?;
    write_certificates(&dir)?;
    let credentials: Vec<(String, String)> = USERS
        .iter()
        .map(|user| Ok((user.to_string(), random_password()?)))
        .collect::<Result<_>>()?;
    let admin_password = &credentials[0].1;
    let mut lines = String::from(
        "# SCRAM-SHA-512 users of the secured node (cargo xtask kafka up --secure); new at every start.\n",
    );
    for (user, password) in &credentials {
        lines.push_str(&format!("{user}={password}\n"));
    }
    write_private(&layout::credentials_file(), &lines)?;
    write_private(
        &config_file(),
        &server_properties(Host::Local, admin_password),
    )?;
    write_private(
        &layout::admin_properties(),
        &admin_properties(Host::Local, admin_password),
    )?;
    fs::write(dir.join("log4j2.properties"), kafka::server_log4j(&dir))?;

    // docker compose --profile secure: same configuration, container paths.
    let docker = dir.join("docker");
    write_private(
        &docker.join("server.properties"),
        &server_properties(Host::Docker, admin_password),
    )?;
    let scram = add_scram_args(&credentials)
        .chunks(2)
        .map(|pair| format!("  {} '{}'", pair[0], pair[1]))
        .collect::<Vec<_>>()
        .join(" \\\n");
    write_private(
        &docker.join("start.sh"),
        &format!(
            "#!/bin/sh\n\
             # Written by cargo xtask (kafka secure-files); run by docker-compose.yml's kafka-secure.\n\
             set -e\n\
             /opt/kafka/bin/kafka-storage.sh format --ignore-formatted -t \"$CLUSTER_ID\" \\\n\
             \x20 -c /secure/docker/server.properties \\\n{scram}\n\
             exec /opt/kafka/bin/kafka-server-start.sh /secure/docker/server.properties\n"
        ),
    )?;
    Ok(credentials)
}

/// `cargo xtask kafka secure-files`: the files of `docker compose --profile secure`.
pub fn files_for_docker() -> Result<()> {
    if let Some(pid) = running_pid() {
        bail!(
            "the secured node started by `cargo xtask kafka up --secure` is running (pid {pid}); \
             its files are in use. Stop it first: `cargo xtask kafka down --secure`"
        );
    }
    prepare()?;
    println!(
        "Wrote the secured node's certificates, passwords and configuration to {}.\n\
         Start it with Docker: docker compose --profile secure up -d kafka-secure\n\
         CA certificate for clients: {}\nPasswords: {}",
        layout::dir().display(),
        layout::ca_pem().display(),
        layout::credentials_file().display()
    );
    Ok(())
}

fn check_ports_free() -> Result<()> {
    for (port, what) in [
        (secure_client(), "SASL_SSL listener"),
        (secure_controller(), "controller listener"),
    ] {
        if TcpListener::bind(("127.0.0.1", port)).is_err() {
            bail!(
                "port {port} on localhost ({what} of the secured node) is already in use, so the \
                 secured node cannot start. Is it running under Docker (`docker compose --profile \
                 secure down`)? See what holds it with `ss -ltnp 'sport = :{port}'`"
            );
        }
    }
    Ok(())
}

/// Starts the secured node (or finds it running) and returns how long it took.
pub fn up() -> Result<Duration> {
    let started = Instant::now();
    if let Some(pid) = running_pid() {
        wait_until_ready(None, Duration::from_secs(30))?;
        println!(
            "The secured Kafka {KAFKA_VERSION} node is already running (pid {pid}) at {}",
            layout::bootstrap()
        );
        print_how_to_connect();
        return Ok(started.elapsed());
    }
    let java = kafka_layout::java()?;
    let libs = kafka::ensure_jars()?;
    check_ports_free()?;
    let credentials = prepare()?;
    format_storage(&java, &libs, &credentials)?;

    let dir = layout::dir();
    let log = fs::File::create(dir.join("stdout.log"))?;
    let child = Command::new(&java)
        .args(kafka::jvm_args())
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            dir.join("log4j2.properties").display()
        ))
        .arg("-cp")
        .arg(format!("{}/*", libs.display()))
        .arg("kafka.Kafka")
        .arg(config_file())
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log)
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting the secured node with {}", java.display()))?;
    let pid = child.id();
    fs::write(pid_file(), pid.to_string())?;
    let mut child = Some(child);
    if let Err(error) = wait_until_ready(child.as_mut(), START_TIMEOUT) {
        stop(pid);
        let _ = fs::remove_file(pid_file());
        return Err(error);
    }
    let elapsed = started.elapsed();
    println!(
        "Secured Kafka {KAFKA_VERSION} node is up at {} (SASL_SSL, SCRAM-SHA-512, ACLs) in {:.1} s \
         (stop: cargo xtask kafka down --secure)",
        layout::bootstrap(),
        elapsed.as_secs_f64()
    );
    print_how_to_connect();
    Ok(elapsed)
}

fn print_how_to_connect() {
    println!(
        "  CA certificate (ssl.ca.location): {}\n  \
         users {} — passwords in {}\n  \
         admin settings for Kafka tools: --command-config {}",
        layout::ca_pem().display(),
        USERS.join(", "),
        layout::credentials_file().display(),
        layout::admin_properties().display()
    );
}

fn format_storage(java: &Path, libs: &Path, credentials: &[(String, String)]) -> Result<()> {
    let cluster_id = kafka::random_cluster_id(java, libs)?;
    let output = kafka_layout::java_class_command(java, libs, "kafka.tools.StorageTool")
        .args(["format", "-t", &cluster_id, "-c"])
        .arg(config_file())
        .args(add_scram_args(credentials))
        .output()
        .context("running kafka-storage format")?;
    if !output.status.success() {
        bail!(
            "formatting the secured node's storage failed:\n{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    fs::write(layout::dir().join("cluster-id"), &cluster_id)?;
    Ok(())
}

/// Waits for Kafka's "started" log line and a TCP accept on the SASL_SSL
/// port (a Metadata probe cannot speak TLS + SCRAM; the chapter's tests do).
fn wait_until_ready(mut child: Option<&mut Child>, limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    let log = layout::dir().join("server.log");
    loop {
        if let Some(child) = child.as_mut()
            && let Some(status) = child.try_wait()?
        {
            bail!(
                "the secured Kafka node exited during startup ({status}). The end of its log:\n{}",
                kafka::tail_files(&[log.clone(), layout::dir().join("stdout.log")], 25)
            );
        }
        let started = fs::read_to_string(&log).is_ok_and(|text| text.contains(STARTED_LINE));
        if started && TcpStream::connect(("localhost", secure_client())).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "the secured Kafka node did not start within {limit:?}. The end of its log:\n{}",
                kafka::tail_files(&[log.clone(), layout::dir().join("stdout.log")], 25)
            );
        }
        thread::sleep(Duration::from_millis(250));
    }
}

/// The pid of the secured node `up --secure` started, if it is alive (its
/// command line names the secured node's configuration, so a recycled pid
/// is never taken for it). A stale pid file is removed.
pub fn running_pid() -> Option<u32> {
    let pid: u32 = fs::read_to_string(pid_file()).ok()?.trim().parse().ok()?;
    if is_ours(pid) {
        Some(pid)
    } else {
        let _ = fs::remove_file(pid_file());
        None
    }
}

fn is_ours(pid: u32) -> bool {
    kafka::is_kafka_process(pid, &config_file())
}

fn stop(pid: u32) {
    kafka::stop_processes(&[("the secured node".to_string(), pid)], is_ours);
}

/// Stops the secured node; `clean` also deletes its files (certificates,
/// passwords, data).
pub fn down(clean: bool) -> Result<()> {
    match running_pid() {
        Some(pid) => {
            stop(pid);
            println!("Stopped the secured Kafka node (pid {pid}).");
        }
        None => println!("No secured Kafka node started by cargo xtask is running."),
    }
    let _ = fs::remove_file(pid_file());
    if clean && layout::dir().exists() {
        fs::remove_dir_all(layout::dir())?;
        println!("Removed {}.", layout::dir().display());
    }
    Ok(())
}

/// One status paragraph for `cargo xtask kafka status`; true if running.
pub fn status() -> bool {
    match running_pid() {
        Some(pid) => {
            println!(
                "Secured node (kafka up --secure): pid {pid}, SASL_SSL localhost:{}, controller localhost:{}",
                secure_client(),
                secure_controller()
            );
            print_how_to_connect();
            true
        }
        None => {
            println!("Secured node: not running (start it with `cargo xtask kafka up --secure`).");
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secured_node_requires_sasl_ssl_and_acls() {
        let text = server_properties(Host::Local, "pw");
        for line in [
            "listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT",
            "sasl.enabled.mechanisms=SCRAM-SHA-512",
            "authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer",
            "allow.everyone.if.no.acl.found=false",
            "super.users=User:admin;User:ANONYMOUS",
            "ssl.keystore.type=PEM",
        ] {
            assert!(
                text.lines().any(|l| l == line),
                "missing `{line}` in\n{text}"
            );
        }
        assert_eq!(
            add_scram_args(&[("alice".into(), "s3cret".into())]),
            vec!["--add-scram", "SCRAM-SHA-512=[name=alice,password=s3cret]"]
        );
    }

    #[test]
    fn passwords_are_random_hex() {
        let (a, b) = (random_password().unwrap(), random_password().unwrap());
        assert_eq!(a.len(), 24);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
