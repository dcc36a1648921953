//! A real Apache Kafka cluster in KRaft mode, run with `java` from the Maven
//! Central artifacts of one pinned version. One node, or three combined
//! broker+controller nodes for the chapters about replication.

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitCode, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use clap::Subcommand;
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::{paths, secure};

/// The pinned Kafka version. Keep in step with `xtask/kafka/pom.xml` and the
/// image tag in `docker-compose.yml` (a unit test below checks both).
pub use kafka_layout::KAFKA_VERSION;
pub use kafka_layout::ports::{bootstrap, client_port};
use kafka_layout::ports::{controller_port, proxied_port, proxy_port};
use kafka_layout::probe;
use kafka_layout::{TOOL_ALIASES, java_class_command, libs_dir, tool_class};
/// Heap per broker: small, because two cores and three JVMs share this machine.
const HEAP: &str = "512m";
/// How long `up` waits for every broker to register.
const START_TIMEOUT: Duration = Duration::from_secs(90);
/// How long `down` waits for a controlled shutdown before SIGKILL.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

#[derive(Subcommand)]
pub enum KafkaCommand {
    /// Start Kafka (fetching the jars with Maven the first time) and wait until it answers
    Up {
        /// Number of nodes: 1 (clients on localhost:9092) or 3 (localhost:9092,9094,9096)
        #[arg(long, default_value_t = 1, value_parser = parse_nodes)]
        nodes: u8,
        /// Start the separate secured node of chapter 四.6 instead (SASL_SSL on localhost:9392,
        /// SCRAM-SHA-512 users, ACLs); the plain cluster is left alone
        #[arg(long, conflicts_with = "nodes")]
        secure: bool,
    },
    /// Stop exactly the broker processes `up` started
    Down {
        /// Also delete the cluster's data (topics, offsets) under target/kafka
        #[arg(long)]
        clean: bool,
        /// Stop the secured node of `up --secure` instead (the plain cluster is left alone)
        #[arg(long)]
        secure: bool,
    },
    /// Write the secured node's certificates, passwords and configuration without starting
    /// it, for `docker compose --profile secure up -d kafka-secure`
    SecureFiles,
    /// Show the cluster started by `up`: processes, ports, brokers, controller quorum
    Status,
    /// Print the end of a node's server log
    Logs {
        /// Which node (1-3)
        #[arg(long, default_value_t = 1)]
        node: u8,
        /// How many lines
        #[arg(short = 'n', long, default_value_t = 60)]
        lines: usize,
    },
    /// Run a Kafka CLI tool from the same jars, e.g. `tool topics --bootstrap-server localhost:9092 --list`
    #[command(after_help = alias_help())]
    Tool {
        /// An alias (see below) or a fully qualified Java class name
        name: String,
        /// Arguments passed to the tool unchanged
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        args: Vec<String>,
    },
}

pub fn parse_nodes(value: &str) -> Result<u8, String> {
    match value {
        "1" => Ok(1),
        "3" => Ok(3),
        other => Err(format!(
            "`{other}` is not a supported cluster size: use 1 (one broker) or 3 (replication chapters)"
        )),
    }
}

pub fn run(command: KafkaCommand) -> Result<ExitCode> {
    match command {
        KafkaCommand::Up {
            secure: true,
            nodes: _,
        } => secure::up().map(|_| ExitCode::SUCCESS),
        KafkaCommand::Up { nodes, .. } => up(nodes).map(|_| ExitCode::SUCCESS),
        KafkaCommand::Down {
            clean,
            secure: true,
        } => secure::down(clean).map(|_| ExitCode::SUCCESS),
        KafkaCommand::Down { clean, .. } => down(clean).map(|_| ExitCode::SUCCESS),
        KafkaCommand::SecureFiles => secure::files_for_docker().map(|_| ExitCode::SUCCESS),
        KafkaCommand::Status => status(),
        KafkaCommand::Logs { node, lines } => logs(node, lines).map(|_| ExitCode::SUCCESS),
        KafkaCommand::Tool { name, args } => tool(&name, &args),
    }
}

// ---------------------------------------------------------------------------
// Layout: ports and directories
// ---------------------------------------------------------------------------

// Ports: kafka_layout::ports owns the one list of every port.

/// Each layout keeps its own data, so switching between one and three nodes
/// (as `cargo xtask test` does) never wipes the other's topics.
fn layout_dir(nodes: u8) -> PathBuf {
    paths::kafka_state().join(format!("{nodes}-node"))
}

fn node_dir_of(nodes: u8, node: u8) -> PathBuf {
    layout_dir(nodes).join(format!("node-{node}"))
}

/// The directory of `node` in the running layout (or the one being started).
fn node_dir(node: u8) -> PathBuf {
    let nodes = fs::read_to_string(layout_file())
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())
        .unwrap_or(1);
    node_dir_of(nodes, node)
}

/// Names the layout that is running (written by `up`, removed by `down`).
fn layout_file() -> PathBuf {
    paths::kafka_state().join("running")
}

fn pid_file(node: u8) -> PathBuf {
    node_dir(node).join("pid")
}

// ---------------------------------------------------------------------------
// up
// ---------------------------------------------------------------------------

/// Starts a cluster of `nodes` (or finds ours already running) and returns
/// how long it took until every broker answered.
pub fn up(nodes: u8) -> Result<Duration> {
    let started = Instant::now();
    if let Some(running) = running_layout()? {
        if running == nodes {
            wait_until_ready(nodes, &mut [], Duration::from_secs(30))?;
            println!(
                "Kafka {KAFKA_VERSION} is already running: {nodes} node(s) at {} (started earlier by cargo xtask)",
                bootstrap(nodes)
            );
            return Ok(started.elapsed());
        }
        bail!(
            "a {running}-node cluster started by cargo xtask is already running; \
             stop it first with `cargo xtask kafka down`"
        );
    }
    let java = java()?;
    let libs = ensure_jars()?;
    check_ports_free(nodes)?;
    prepare_storage(nodes, &java, &libs)?;
    fs::write(layout_file(), nodes.to_string())?;

    let mut children = Vec::new();
    for node in 1..=nodes {
        match spawn_node(node, &java, &libs) {
            Ok(child) => children.push((node, child)),
            Err(error) => {
                stop_pids(&pids_of(&children));
                let _ = fs::remove_file(layout_file());
                return Err(error);
            }
        }
    }
    if let Err(error) = wait_until_ready(nodes, &mut children, START_TIMEOUT) {
        stop_pids(&pids_of(&children));
        let _ = fs::remove_file(layout_file());
        return Err(error);
    }
    let elapsed = started.elapsed();
    println!(
        "Kafka {KAFKA_VERSION} is up: {nodes} node(s) at {} in {:.1} s (logs: cargo xtask kafka logs; stop: cargo xtask kafka down)",
        bootstrap(nodes),
        elapsed.as_secs_f64()
    );
    Ok(elapsed)
}

fn java() -> Result<PathBuf> {
    Ok(kafka_layout::java()?)
}

/// The broker and tool jars, fetched with Maven into the cache the first time.
pub fn ensure_jars() -> Result<PathBuf> {
    let libs = libs_dir();
    let stamp = libs.join(".complete");
    if stamp.exists() {
        return Ok(libs);
    }
    let pom = paths::workspace().join("xtask/kafka/pom.xml");
    println!(
        "Fetching Apache Kafka {KAFKA_VERSION} jars from Maven Central into {} (once)...",
        libs.display()
    );
    let status = Command::new("mvn")
        .args(["-q", "-B", "-Dstyle.color=never", "-f"])
        .arg(&pom)
        .arg("dependency:copy-dependencies")
        .arg(format!("-DoutputDirectory={}", libs.display()))
        .arg("-DincludeScope=runtime")
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => bail!(
            "Maven could not fetch the Kafka jars ({s}); check network access to Maven Central \
             and run again, or use Docker: `docker compose up -d`"
        ),
        Err(e) => bail!(
            "cannot run `mvn` ({e}): Maven is needed once to fetch the Kafka jars. Install it \
             (e.g. `apt-get install maven`) or use Docker: `docker compose up -d`"
        ),
    }
    fs::write(&stamp, KAFKA_VERSION)?;
    Ok(libs)
}

fn check_ports_free(nodes: u8) -> Result<()> {
    for node in 1..=nodes {
        let ports = kafka_layout::ports::ALL
            .iter()
            .filter(|p| p.bound_by_broker())
            .map(|p| p.port(node));
        for port in ports {
            if TcpListener::bind(("127.0.0.1", port)).is_err() {
                bail!(
                    "port {port} on localhost is already in use, so node {node} cannot start. \
                     Is another Kafka running (`docker compose down` stops the Docker one)? \
                     See what holds it with `ss -ltnp 'sport = :{port}'`"
                );
            }
        }
    }
    Ok(())
}

/// Writes each node's configuration and formats its storage once. Data from
/// an earlier run of the same layout is kept: topics survive `down`/`up`.
fn prepare_storage(nodes: u8, java: &Path, libs: &Path) -> Result<()> {
    let state = layout_dir(nodes);
    fs::create_dir_all(&state)?;
    for node in 1..=nodes {
        let dir = node_dir_of(nodes, node);
        fs::create_dir_all(dir.join("data"))?;
        fs::write(
            dir.join("server.properties"),
            server_properties(node, nodes, &dir),
        )?;
        fs::write(dir.join("log4j2.properties"), server_log4j(&dir))?;
    }
    if state.join("formatted").exists() {
        return Ok(());
    }
    let cluster_id = random_cluster_id(java, libs)?;
    let formats: Vec<_> = (1..=nodes)
        .map(|node| {
            let dir = node_dir_of(nodes, node);
            let mut command = java_command(java, libs, "kafka.tools.StorageTool");
            command
                .args(["format", "--ignore-formatted", "-t", &cluster_id, "-c"])
                .arg(dir.join("server.properties"))
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            command.spawn().map(|child| (node, child))
        })
        .collect::<Result<_, _>>()?;
    for (node, child) in formats {
        let output = child.wait_with_output()?;
        if !output.status.success() {
            bail!(
                "formatting the storage of node {node} failed:\n{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            );
        }
    }
    fs::write(state.join("cluster-id"), &cluster_id)?;
    fs::write(state.join("formatted"), nodes.to_string())?;
    Ok(())
}

pub(crate) fn random_cluster_id(java: &Path, libs: &Path) -> Result<String> {
    let output = java_command(java, libs, "kafka.tools.StorageTool")
        .arg("random-uuid")
        .output()?;
    let id = String::from_utf8_lossy(&output.stdout).trim().to_string();
    if !output.status.success() || id.is_empty() {
        bail!(
            "kafka-storage random-uuid failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(id)
}

/// One node's `server.properties`: a combined broker+controller in KRaft mode
/// with a static controller quorum.
fn server_properties(node: u8, nodes: u8, dir: &Path) -> String {
    let voters = (1..=nodes)
        .map(|n| format!("{n}@localhost:{}", controller_port(n)))
        .collect::<Vec<_>>()
        .join(",");
    let rf = nodes.min(3);
    let min_isr = if nodes >= 3 { 2 } else { 1 };
    // A teaching cluster: a follower that falls behind the leader's log end
    // leaves the ISR after 6 s instead of Kafka's default 30 s. (A follower
    // that is frozen while nothing is written is not behind; it leaves the
    // ISR when the controller fences its broker after
    // broker.session.timeout.ms, 9 s: see 二.4.)
    let lag = if nodes >= 3 { "6000" } else { "30000" };
    format!(
        "# Written by `cargo xtask kafka up`; regenerated on every start.\n\
         node.id={node}\n\
         process.roles=broker,controller\n\
         controller.quorum.voters={voters}\n\
         listeners=PLAINTEXT://localhost:{client},PROXIED://localhost:{proxied},CONTROLLER://localhost:{controller}\n\
         # PROXIED advertises the port of a test proxy, not its own (see shared/layout/src/ports.rs).\n\
         advertised.listeners=PLAINTEXT://localhost:{client},PROXIED://localhost:{proxy}\n\
         controller.listener.names=CONTROLLER\n\
         inter.broker.listener.name=PLAINTEXT\n\
         listener.security.protocol.map=PLAINTEXT:PLAINTEXT,PROXIED:PLAINTEXT,CONTROLLER:PLAINTEXT\n\
         log.dirs={data}\n\
         num.partitions=1\n\
         default.replication.factor={rf}\n\
         offsets.topic.replication.factor={rf}\n\
         transaction.state.log.replication.factor={rf}\n\
         transaction.state.log.min.isr={min_isr}\n\
         share.coordinator.state.topic.replication.factor={rf}\n\
         share.coordinator.state.topic.min.isr={min_isr}\n\
         # The stock file waits 3 s for more members before the first rebalance;\n\
         # the chapters start their consumers together, so don't.\n\
         group.initial.rebalance.delay.ms=0\n\
         replica.lag.time.max.ms={lag}\n\
         # Tests create and delete many small topics.\n\
         delete.topic.enable=true\n\
         auto.create.topics.enable=false\n",
        client = client_port(node),
        controller = controller_port(node),
        proxied = proxied_port(node),
        proxy = proxy_port(node),
        data = dir.join("data").display(),
    )
}

pub(crate) fn server_log4j(dir: &Path) -> String {
    format!(
        "status = warn\n\
         appender.file.type = File\n\
         appender.file.name = file\n\
         appender.file.fileName = {log}\n\
         appender.file.layout.type = PatternLayout\n\
         appender.file.layout.pattern = [%d] %p %m (%c)%n\n\
         rootLogger.level = info\n\
         rootLogger.appenderRef.file.ref = file\n\
         logger.state-change.name = state.change.logger\n\
         logger.state-change.level = warn\n",
        log = dir.join("server.log").display()
    )
}

/// `java … <class>` for a Kafka tool, logging warnings to stderr.
fn java_command(java: &Path, libs: &Path, class: &str) -> Command {
    java_class_command(java, libs, class)
}

fn pids_of(children: &[(u8, Child)]) -> Vec<(u8, u32)> {
    children.iter().map(|(n, c)| (*n, c.id())).collect()
}

/// The JVM options of every node (the secured one included).
pub(crate) fn jvm_args() -> Vec<String> {
    vec![
        format!("-Xms{HEAP}"),
        format!("-Xmx{HEAP}"),
        "-XX:+UseG1GC".into(),
        "-Djava.awt.headless=true".into(),
    ]
}

fn spawn_node(node: u8, java: &Path, libs: &Path) -> Result<Child> {
    let dir = node_dir(node);
    let stdout = fs::File::create(dir.join("stdout.log"))?;
    let stderr = stdout.try_clone()?;
    let child = Command::new(java)
        .args(jvm_args())
        .arg(format!(
            "-Dlog4j2.configurationFile={}",
            dir.join("log4j2.properties").display()
        ))
        .arg("-cp")
        .arg(format!("{}/*", libs.display()))
        .arg("kafka.Kafka")
        .arg(dir.join("server.properties"))
        .current_dir(&dir)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        // Its own process group: Ctrl-C in the terminal that ran `up` must not
        // take the broker down with it; only `down` stops it.
        .process_group(0)
        .spawn()
        .with_context(|| format!("starting node {node} with {}", java.display()))?;
    fs::write(pid_file(node), child.id().to_string())?;
    Ok(child)
}

/// Waits until every node answers metadata requests with all `nodes`
/// brokers registered — each node's own answer, because a node's metadata
/// cache can lag the others' for a moment after startup, and a client that
/// gets a list without some broker drops its connection to that broker
/// (librdkafka 2.12 `rd_kafka_metadata_decommission_unavailable_brokers`):
/// an admin request in flight there fails with `DestroyBroker` (seen in the
/// tour, right after `up --nodes 3`). Fails fast if one of `children` dies.
fn wait_until_ready(nodes: u8, children: &mut [(u8, Child)], limit: Duration) -> Result<()> {
    let deadline = Instant::now() + limit;
    let address = bootstrap(nodes);
    loop {
        for (node, child) in children.iter_mut() {
            if let Some(status) = child.try_wait()? {
                bail!(
                    "Kafka node {node} exited during startup ({status}). The end of its log:\n{}\n\
                     (full logs: {})",
                    tail_logs(*node, 25),
                    node_dir(*node).display()
                );
            }
        }
        let all_registered = |node: &str| {
            probe::brokers(node, Duration::from_secs(2))
                .is_ok_and(|brokers| brokers.len() >= usize::from(nodes))
        };
        if address.split(',').all(all_registered) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!(
                "Kafka did not answer at {address} with {nodes} broker(s) within {limit:?}. \
                 The end of node 1's log:\n{}",
                tail_logs(1, 25)
            );
        }
        thread::sleep(Duration::from_millis(250));
    }
}

// ---------------------------------------------------------------------------
// down, status, logs
// ---------------------------------------------------------------------------

/// A broker that is already there: `KAFKA_BROKERS` if set, else the cluster
/// `kafka up` started, else whatever answers on localhost:9092. `None` if
/// nothing does (the caller decides whether to start one).
pub fn existing_brokers() -> Result<Option<String>> {
    if let Ok(given) = std::env::var("KAFKA_BROKERS") {
        println!("Using KAFKA_BROKERS={given}");
        return Ok(Some(given));
    }
    if let Some(nodes) = running_layout()? {
        return Ok(Some(bootstrap(nodes)));
    }
    if probe::brokers(
        &kafka_layout::ports::default_brokers(),
        Duration::from_secs(3),
    )
    .is_ok()
    {
        println!(
            "Using the Kafka broker that answers on {}",
            kafka_layout::ports::default_brokers()
        );
        return Ok(Some(kafka_layout::ports::default_brokers()));
    }
    Ok(None)
}

/// The number of nodes of the cluster `up` started, if any of its processes
/// is still alive. Stale pid files of dead processes are removed.
pub fn running_layout() -> Result<Option<u8>> {
    let Some(nodes) = fs::read_to_string(layout_file())
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())
    else {
        return Ok(None);
    };
    let alive = (1..=nodes)
        .filter(|&n| read_pid(n).is_some_and(|pid| is_our_broker(pid, n)))
        .count();
    if alive == usize::from(nodes) {
        return Ok(Some(nodes));
    }
    if alive > 0 {
        // A partial cluster is no use to anyone: stop what is left.
        eprintln!("only {alive} of {nodes} nodes are alive; stopping them before starting afresh");
        down(false)?;
    }
    let _ = fs::remove_file(layout_file());
    Ok(None)
}

fn read_pid(node: u8) -> Option<u32> {
    fs::read_to_string(pid_file(node))
        .ok()
        .and_then(|s| s.trim().parse().ok())
}

/// True if `pid` is alive and is the Kafka process of `node` that we started
/// (its command line names this node's config), so a recycled pid is never
/// signalled.
fn is_our_broker(pid: u32, node: u8) -> bool {
    is_kafka_process(pid, &node_dir(node).join("server.properties"))
}

/// True if `pid` is alive and is a Kafka broker started with `config`.
pub(crate) fn is_kafka_process(pid: u32, config: &Path) -> bool {
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let cmdline = String::from_utf8_lossy(&cmdline);
    if !(cmdline.contains("kafka.Kafka") && cmdline.contains(&*config.to_string_lossy())) {
        return false;
    }
    // A zombie (exited, not yet reaped) still has a cmdline.
    fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|stat| {
            stat.rsplit(") ")
                .next()
                .is_some_and(|rest| !rest.starts_with('Z'))
        })
        .unwrap_or(false)
}

pub fn down(clean: bool) -> Result<()> {
    let nodes = fs::read_to_string(layout_file())
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())
        .unwrap_or(3);
    let pids: Vec<(u8, u32)> = (1..=nodes)
        .filter_map(|n| read_pid(n).map(|pid| (n, pid)))
        .filter(|&(n, pid)| is_our_broker(pid, n))
        .collect();
    if pids.is_empty() {
        println!("No Kafka started by cargo xtask is running.");
    } else {
        stop_pids(&pids);
        println!(
            "Stopped {} Kafka node(s) (pids {}).",
            pids.len(),
            pids.iter()
                .map(|(_, p)| p.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for node in 1..=3 {
        let _ = fs::remove_file(pid_file(node));
    }
    let _ = fs::remove_file(layout_file());
    if clean {
        let state = paths::kafka_state();
        if secure::running_pid().is_some() {
            // The secured node (`up --secure`) keeps its files in `secure/`:
            // leave them to `down --secure --clean`.
            for entry in fs::read_dir(&state)?.flatten() {
                if entry.file_name() != "secure" {
                    let path = entry.path();
                    if path.is_dir() {
                        fs::remove_dir_all(&path)?;
                    } else {
                        fs::remove_file(&path)?;
                    }
                }
            }
            println!(
                "Removed the cluster's data in {} (the running secured node's files are kept).",
                state.display()
            );
        } else if state.exists() {
            fs::remove_dir_all(&state)?;
            println!("Removed {}.", state.display());
        }
    }
    Ok(())
}

/// SIGTERM (a controlled shutdown), then SIGKILL whatever is left after
/// [`STOP_TIMEOUT`].
fn stop_pids(pids: &[(u8, u32)]) {
    let named: Vec<(String, u32)> = pids
        .iter()
        .map(|&(node, pid)| (format!("node {node}"), pid))
        .collect();
    stop_processes(&named, |pid| {
        pids.iter()
            .any(|&(node, p)| p == pid && is_our_broker(pid, node))
    });
}

/// SIGTERM to each `(name, pid)`, then SIGKILL to whichever `alive` still
/// reports after [`STOP_TIMEOUT`]; reaps them.
pub(crate) fn stop_processes(pids: &[(String, u32)], alive: impl Fn(u32) -> bool) {
    for (_, pid) in pids {
        let _ = kill(Pid::from_raw(*pid as i32), Signal::SIGTERM);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    while Instant::now() < deadline && pids.iter().any(|(_, p)| alive(*p)) {
        thread::sleep(Duration::from_millis(200));
    }
    for (name, pid) in pids {
        let pid = *pid;
        if alive(pid) {
            eprintln!("{name} (pid {pid}) ignored SIGTERM for {STOP_TIMEOUT:?}; sending SIGKILL");
            let _ = kill(Pid::from_raw(pid as i32), Signal::SIGKILL);
        }
    }
    // Reap, so no zombie lingers while xtask itself keeps running.
    for &(_, pid) in pids {
        let _ = nix::sys::wait::waitpid(Pid::from_raw(pid as i32), None);
    }
}

fn status() -> Result<ExitCode> {
    let Some(nodes) = running_layout()? else {
        println!(
            "No Kafka started by cargo xtask is running. Start one with `cargo xtask kafka up`."
        );
        let default = kafka_layout::ports::default_brokers();
        match probe::brokers(&default, Duration::from_secs(2)) {
            Ok(brokers) => println!(
                "Note: something else answers on {default} ({} broker(s)), e.g. `docker compose`.",
                brokers.len()
            ),
            Err(_) => println!("Nothing answers on {default}."),
        }
        return Ok(if secure::status() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    };
    let cluster_id = fs::read_to_string(layout_dir(nodes).join("cluster-id")).unwrap_or_default();
    println!(
        "Apache Kafka {KAFKA_VERSION}, {nodes} node(s), cluster id {}",
        cluster_id.trim()
    );
    for node in 1..=nodes {
        println!(
            "  node {node}: pid {:<8} clients localhost:{}  controller localhost:{}  data {}",
            read_pid(node).map(|p| p.to_string()).unwrap_or_default(),
            client_port(node),
            controller_port(node),
            node_dir(node).join("data").display()
        );
    }
    match probe::brokers(&bootstrap(nodes), Duration::from_secs(5)) {
        Ok(brokers) => println!(
            "  metadata: {} broker(s) registered: {}",
            brokers.len(),
            brokers
                .iter()
                .map(|b| format!("{}@{}:{}", b.id, b.host, b.port))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        Err(e) => println!("  metadata: not answering: {e}"),
    }
    // Clients never talk to the KRaft controllers, so only the admin tool
    // (through the controller listener) can show who leads the quorum.
    println!("Controller quorum (kafka-metadata-quorum describe --status):");
    let code = tool(
        "metadata-quorum",
        &[
            "--bootstrap-controller".into(),
            format!("localhost:{}", controller_port(1)),
            "describe".into(),
            "--status".into(),
        ],
    )?;
    secure::status();
    Ok(code)
}

fn tail_logs(node: u8, lines: usize) -> String {
    let dir = node_dir(node);
    tail_files(&[dir.join("server.log"), dir.join("stdout.log")], lines)
}

/// The last `lines` lines of each of `files` that exists, with a header each.
pub(crate) fn tail_files(files: &[PathBuf], lines: usize) -> String {
    let mut out = String::new();
    for path in files {
        let Ok(file) = fs::File::open(path) else {
            continue;
        };
        let all: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
        if all.is_empty() {
            continue;
        }
        out.push_str(&format!("--- {} ---\n", path.display()));
        for line in &all[all.len().saturating_sub(lines)..] {
            out.push_str(line);
            out.push('\n');
        }
    }
    if out.is_empty() {
        out.push_str("(no log written)\n");
    }
    out
}

fn logs(node: u8, lines: usize) -> Result<()> {
    if !(1..=3).contains(&node) {
        bail!("--node must be 1, 2 or 3 (got {node})");
    }
    print!("{}", tail_logs(node, lines));
    Ok(())
}

// ---------------------------------------------------------------------------
// tool
// ---------------------------------------------------------------------------

fn alias_help() -> String {
    let mut help = String::from("Aliases:\n");
    for (alias, class) in TOOL_ALIASES {
        help.push_str(&format!("  {alias:<18} {class}\n"));
    }
    help
}

/// Runs a Kafka tool with the same jars as the broker and returns its exit code.
pub fn tool(name: &str, args: &[String]) -> Result<ExitCode> {
    let class = tool_class(name)?.to_string();
    let status = tool_command(&class, args)?.status()?;
    Ok(ExitCode::from(
        status.code().unwrap_or(1).clamp(0, 255) as u8
    ))
}

/// A ready-to-run command for a Kafka tool (used by later chapters' checks).
pub fn tool_command(class: &str, args: &[String]) -> Result<Command> {
    let java = java()?;
    let libs = ensure_jars()?;
    let mut command = java_command(&java, &libs, class);
    command.args(args);
    Ok(command)
}

/// The number of nodes of the cluster `up` started in this checkout, if all
/// of them are alive — read only (unlike [`running_layout`], which stops a
/// partial cluster). Used by `doctor` to tell our own ports from a stranger's.
pub fn ours_alive() -> Option<u8> {
    let nodes = fs::read_to_string(layout_file())
        .ok()
        .and_then(|s| s.trim().parse::<u8>().ok())?;
    (1..=nodes)
        .all(|n| read_pid(n).is_some_and(|pid| is_our_broker(pid, n)))
        .then_some(nodes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kafka_version_matches_pom_and_compose() {
        let root = paths::workspace();
        let pom = fs::read_to_string(root.join("xtask/kafka/pom.xml")).expect("pom.xml");
        assert!(
            pom.contains(&format!("<kafka.version>{KAFKA_VERSION}</kafka.version>")),
            "xtask/kafka/pom.xml must pin Kafka {KAFKA_VERSION}"
        );
        let compose =
            fs::read_to_string(root.join("docker-compose.yml")).expect("docker-compose.yml");
        assert!(
            compose.contains(&format!("apache/kafka:{KAFKA_VERSION}")),
            "docker-compose.yml must use apache/kafka:{KAFKA_VERSION}"
        );
    }

    #[test]
    fn three_node_config_has_a_three_voter_quorum_and_rf3_internal_topics() {
        // The ports as written for the default base, moved like every port
        // (`KAFKA_PORT_BASE`: CI runs the tests on base 29092).
        let p = kafka_layout::ports::shifted;
        let text = server_properties(2, 3, Path::new("/tmp/x"));
        assert!(text.contains("node.id=2\n"));
        assert!(text.contains(&format!(
            "controller.quorum.voters=1@localhost:{},2@localhost:{},3@localhost:{}\n",
            p(9093),
            p(9095),
            p(9097)
        )));
        assert!(text.contains(&format!(
            "\nlisteners=PLAINTEXT://localhost:{},PROXIED://localhost:{},CONTROLLER://localhost:{}\n",
            p(9094),
            p(9194),
            p(9095)
        )));
        assert!(text.contains(&format!(
            "\nadvertised.listeners=PLAINTEXT://localhost:{},PROXIED://localhost:{}\n",
            p(9094),
            p(9294)
        )));
        assert!(text.contains("offsets.topic.replication.factor=3\n"));
        assert!(text.contains("transaction.state.log.min.isr=2\n"));
    }
}

/// Nothing open by accident: every listener xtask configures, and every port
/// docker-compose.yml publishes, is on the loopback interface.
#[cfg(test)]
mod exposure {
    use super::*;
    use crate::secure::{self, Host};

    /// `(name, host, port)` of each entry of `key=NAME://host:port,...`.
    fn listeners(properties: &str, key: &str) -> Vec<(String, String, u16)> {
        let line = properties
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("no {key} in\n{properties}"));
        parse_listeners(line)
    }

    fn parse_listeners(list: &str) -> Vec<(String, String, u16)> {
        list.split(',')
            .map(|entry| {
                let (name, address) = entry.trim().split_once("://").expect("NAME://host:port");
                let (host, port) = address.rsplit_once(':').expect("host:port");
                (
                    name.to_string(),
                    host.to_string(),
                    port.parse().expect("port"),
                )
            })
            .collect()
    }

    fn is_loopback(host: &str) -> bool {
        matches!(host, "localhost" | "127.0.0.1" | "[::1]")
    }

    #[test]
    fn every_listener_xtask_configures_is_loopback_only() {
        let mut configs = vec![(
            "1 node".to_string(),
            server_properties(1, 1, Path::new("/x")),
        )];
        for node in 1..=3 {
            configs.push((
                format!("node {node} of 3"),
                server_properties(node, 3, Path::new("/x")),
            ));
        }
        configs.push((
            "secured node".into(),
            secure::server_properties(Host::Local, "pw"),
        ));
        for (what, text) in &configs {
            for key in ["listeners", "advertised.listeners"] {
                for (name, host, _) in listeners(text, key) {
                    assert!(is_loopback(&host), "{what}: {key} {name} binds {host}");
                }
            }
            let voters = text
                .lines()
                .find_map(|l| l.strip_prefix("controller.quorum.voters="))
                .expect("voters");
            assert!(
                voters.split(',').all(|v| v.contains("@localhost:")),
                "{what}: {voters}"
            );
        }
        let secure = listeners(&configs.last().unwrap().1, "listeners");
        assert_eq!(
            secure,
            vec![
                (
                    "SASL_SSL".into(),
                    "localhost".into(),
                    kafka_layout::ports::secure_client()
                ),
                (
                    "CONTROLLER".into(),
                    "localhost".into(),
                    kafka_layout::ports::secure_controller()
                ),
            ]
        );
    }

    fn compose() -> serde_norway::Value {
        let text = fs::read_to_string(paths::workspace().join("docker-compose.yml"))
            .expect("docker-compose.yml");
        serde_norway::from_str(&text).expect("docker-compose.yml is YAML")
    }

    #[test]
    fn compose_publishes_every_port_on_loopback_and_advertises_localhost() {
        let compose = compose();
        let services = compose["services"].as_mapping().expect("services");
        assert!(services.len() >= 5, "kafka, kafka-1..3, kafka-secure");
        for (name, service) in services {
            let name = name.as_str().unwrap_or_default();
            let ports = service["ports"].as_sequence().expect("ports");
            for port in ports {
                let port = port.as_str().expect("a \"host:port:port\" string");
                let parts: Vec<&str> = port.split(':').collect();
                assert_eq!(
                    parts.len(),
                    3,
                    "{name}: `{port}` must name the host address"
                );
                assert_eq!(
                    parts[0], "127.0.0.1",
                    "{name}: `{port}` is published on every interface"
                );
            }
            // Clients on the host are told `localhost`; only a listener for
            // the Docker network (never published) may name a container.
            if let Some(advertised) = service["environment"]["KAFKA_ADVERTISED_LISTENERS"].as_str()
            {
                let published: Vec<u16> = ports
                    .iter()
                    .filter_map(|p| p.as_str()?.rsplit(':').next()?.parse().ok())
                    .collect();
                for (listener, host, port) in parse_listeners(advertised) {
                    assert!(
                        host == "localhost" || !published.contains(&port),
                        "{name}: {listener} advertises {host}:{port}, which is published"
                    );
                }
            }
        }
    }

    #[test]
    fn compose_secure_profile_runs_what_xtask_writes() {
        let compose = compose();
        let service = &compose["services"]["kafka-secure"];
        assert_eq!(service["profiles"][0].as_str(), Some("secure"));
        assert_eq!(service["ports"][0].as_str(), Some("127.0.0.1:9392:9392"));
        assert_eq!(
            service["volumes"][0].as_str(),
            Some("./target/kafka/secure:/secure:ro"),
            "the directory `kafka secure-files` writes (kafka_layout::secure::dir at the default base)"
        );
        let command: Vec<&str> = service["command"]
            .as_sequence()
            .expect("command")
            .iter()
            .filter_map(|v| v.as_str())
            .collect();
        assert_eq!(command, ["sh", "/secure/docker/start.sh"]);
        // The container's configuration is xtask's, with container paths: the
        // same listener port, advertised as localhost; the TLS files under /secure.
        let docker = secure::server_properties(Host::Docker, "pw");
        let advertised = listeners(&docker, "advertised.listeners");
        assert_eq!(
            advertised,
            vec![(
                "SASL_SSL".into(),
                "localhost".into(),
                kafka_layout::ports::secure_client()
            )]
        );
        assert!(docker.contains("ssl.keystore.location=/secure/broker.pem\n"));
        assert!(docker.contains("ssl.truststore.location=/secure/ca.pem\n"));
        let local = secure::server_properties(Host::Local, "pw");
        let same = |text: &str| {
            text.lines()
                .filter(|l| {
                    !l.contains("location=")
                        && !l.starts_with("listeners=")
                        && !l.starts_with("log.dirs=")
                })
                .map(String::from)
                .collect::<Vec<_>>()
        };
        assert_eq!(
            same(&docker),
            same(&local),
            "the container runs xtask's configuration"
        );
    }
}
