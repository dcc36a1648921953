//! Why kafka-go can beat librdkafka (and the Java client) on one broker:
//! the broker handles one request at a time per connection, librdkafka
//! keeps one connection per broker, and kafka-go's transport opens another
//! connection whenever a request is already under way on the others. This
//! test counts the established connections to the broker's port while each
//! client produces, from `/proc/<pid>/fd` and `/proc/net/tcp{,6}`.

use std::collections::HashSet;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use bench_lab::clients::go::KAFKA_GO;
use bench_lab::clients::{Client, ProducerSpec, RunSpec, Work};
use tutorial_lab::testing::{TestTopic, test_cluster};

/// Socket inodes of established TCP connections to `port`.
fn inodes_to(port: u16) -> HashSet<u64> {
    let mut inodes = HashSet::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let Ok(text) = std::fs::read_to_string(table) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let fields: Vec<&str> = line.split_whitespace().collect();
            if fields.len() < 10 {
                continue;
            }
            let remote_port = fields[2]
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            // State 01 = ESTABLISHED.
            if remote_port == Some(port)
                && fields[3] == "01"
                && let Ok(inode) = fields[9].parse()
            {
                inodes.insert(inode);
            }
        }
    }
    inodes
}

/// How many of `pid`'s file descriptors are connections to `port`.
fn connections(pid: u32, port: u16) -> usize {
    let to_broker = inodes_to(port);
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return 0;
    };
    fds.filter_map(|fd| std::fs::read_link(fd.ok()?.path()).ok())
        .filter_map(|target| {
            let text = target.to_string_lossy().into_owned();
            text.strip_prefix("socket:[")?
                .strip_suffix(']')?
                .parse::<u64>()
                .ok()
        })
        .filter(|inode| to_broker.contains(inode))
        .count()
}

/// Runs `command` and returns the most connections to `port` seen while it ran.
fn max_connections(mut command: Command, port: u16) -> usize {
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn the client");
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut most = 0;
    while child.try_wait().expect("try_wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "the client did not finish in 120 s"
        );
        most = most.max(connections(child.id(), port));
        std::thread::sleep(Duration::from_millis(20));
    }
    most
}

#[tokio::test]
async fn kafka_go_spreads_produce_requests_over_several_connections_librdkafka_uses_one() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers().to_string();
    let port: u16 = bootstrap
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("a host:port bootstrap address");
    let records = 1_000_000;

    let ours_topic = TestTopic::create(&cluster, "ch04-conns-ours", 3, 1).await;
    let mut ours = Command::new(env!("CARGO_BIN_EXE_bench-lab"));
    ours.args([
        "produce",
        "--brokers",
        &bootstrap,
        "--topic",
        &ours_topic.name,
    ])
    .args(["--records", &records.to_string()]);
    let ours = max_connections(ours, port);

    let go_topic = TestTopic::create(&cluster, "ch04-conns-go", 3, 1).await;
    let binary = KAFKA_GO.build().expect("build the kafka-go program");
    let spec = RunSpec {
        client: Client::KafkaGo,
        bootstrap: bootstrap.clone(),
        topic: go_topic.name.clone(),
        records,
        work: Work::Produce(ProducerSpec::default()),
    };
    let go = KAFKA_GO
        .command(&binary, &spec)
        .expect("the kafka-go command");
    let go = max_connections(go, port);
    eprintln!("connections to the broker while producing: librdkafka {ours}, kafka-go {go}");
    assert!(
        ours >= 1 && go >= 1,
        "no connection seen: ours {ours}, kafka-go {go}"
    );
    assert!(
        ours <= 2 && go > ours,
        "connections to the broker: librdkafka {ours}, kafka-go {go}"
    );
}
