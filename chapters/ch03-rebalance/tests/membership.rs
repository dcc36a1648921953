//! Four claims of 三.3 about group membership, measured on a real broker:
//! mixing eager and cooperative assignors, a static member that comes back
//! too late, a session timeout below the broker's minimum, and a topic that
//! gains partitions while a group reads it.

use std::time::{Duration, Instant};

use ch03_rebalance::lab::Group;
use ch03_rebalance::lesson::{Member, Protocol, join, member_config};
use rdkafka::ClientConfig;
use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, ResourceSpecifier};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use tutorial_lab::testing::{TestTopic, test_cluster, unique_name};

const QUIET: Duration = Duration::from_secs(2);
const LIMIT: Duration = Duration::from_secs(60);

/// Reads from `member` until it reports an error or `limit` passes; the
/// error, if any.
async fn first_error(member: &Member, limit: Duration) -> Option<KafkaError> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        match tokio::time::timeout_at(deadline, member.recv()).await {
            Err(_) => return None,
            Ok(Err(error)) => return Some(error),
            Ok(Ok(_)) => {}
        }
    }
}

/// Closes a consumer off the async runtime (closing blocks).
async fn close(member: Member) {
    tokio::task::spawn_blocking(move || drop(member))
        .await
        .unwrap();
}

/// librdkafka refuses one consumer configured with an eager and a
/// cooperative assignor.
#[test]
fn one_consumer_cannot_list_an_eager_and_a_cooperative_assignor() {
    let cluster = test_cluster();
    let created = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .set("group.id", unique_name("g"))
        .set("partition.assignment.strategy", "range,cooperative-sticky")
        .create::<BaseConsumer>();
    let Err(KafkaError::ClientCreation(message)) = created else {
        panic!("the consumer was created");
    };
    println!("{message}");
    assert_eq!(
        message,
        "All partition.assignment.strategy (range,cooperative-sticky) assignors must have the \
         same protocol type, online migration between assignors with different protocol types \
         is not supported"
    );
}

/// A group formed by a `cooperative-sticky` member; a `range` member asks to
/// join: the broker finds no assignor both support and refuses it.
#[tokio::test]
async fn a_range_member_cannot_join_a_cooperative_sticky_group() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-mixed", 4, 1).await;
    let mut group = Group::new(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("g"),
        Protocol::Cooperative,
    );
    group.join("a", None).unwrap();
    group.settle(4, QUIET, LIMIT).await.unwrap();
    let mark = group.event_count();

    let config = member_config(
        cluster.bootstrap_servers(),
        &group.group,
        Protocol::Eager,
        None,
    );
    let b = join(&config, "b", &topic.name).unwrap();
    let error = first_error(&b, Duration::from_secs(30))
        .await
        .expect("the range member is refused");
    println!("b: {error}");
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::InconsistentGroupProtocol),
        "{error}"
    );
    assert!(b.context().owned().is_empty(), "b got no partitions");
    close(b).await;
    group.run_for(Duration::from_secs(1)).await.unwrap();
    assert_eq!(
        group.events_since(mark),
        vec![],
        "a, alone in its group, never noticed b"
    );
    assert_eq!(group.members[0].owned().len(), 4);
    group.close().await.unwrap();
}

/// A static member restarts after its session timed out (6 s here): the
/// coordinator has removed it, the others rebalance twice — once to take
/// its partitions, once to give some back.
#[tokio::test]
async fn a_static_member_that_restarts_after_the_session_timeout_makes_the_others_rebalance() {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-static-late", 6, 1).await;
    let mut group = Group::new(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("g"),
        Protocol::Cooperative,
    );
    group.join("a", Some("a-static")).unwrap();
    group.join("b", None).unwrap();
    group.settle(6, QUIET, LIMIT).await.unwrap();
    let mark = group.event_count();
    let b_before = group.members[1].owned();

    // A static member sends no LeaveGroup when it closes: the coordinator
    // waits for its session (6 s) to time out, counted from its last
    // heartbeat (at most heartbeat.interval.ms = 2 s before it closed).
    let closed = Instant::now();
    group.close_member("a").await.unwrap();
    let mut took_over = None;
    while closed.elapsed() < Duration::from_secs(30) {
        if group.members[0].owned().len() == 6 {
            took_over = Some(closed.elapsed());
            break;
        }
        group.run_for(Duration::from_millis(50)).await.unwrap();
    }
    let took_over = took_over.expect("b took a's partitions within 30 s");
    group.join("a", Some("a-static")).unwrap();
    group.settle(6, QUIET, LIMIT).await.unwrap();
    let b_events: Vec<_> = group
        .events_since(mark)
        .into_iter()
        .filter(|e| e.member == "b")
        .collect();
    println!(
        "b took a's partitions {took_over:?} after a began to close; b's callbacks: {b_events:?}"
    );
    assert!(
        took_over >= Duration::from_secs(4),
        "not before the session timeout: {took_over:?}"
    );
    assert!(
        b_events
            .iter()
            .any(|e| e.assigned && !e.partitions.is_empty()),
        "b was given a's partitions"
    );
    assert!(
        b_events
            .iter()
            .any(|e| !e.assigned && !e.partitions.is_empty()),
        "b gave partitions back when a returned"
    );
    assert!(group.members[0].owned().len() < 6 && !b_before.is_empty());
    group.close().await.unwrap();
}

/// The broker's `group.min.session.timeout.ms` (6000 by default) is the
/// shortest session a classic member may ask for; below it, JoinGroup fails.
#[tokio::test]
async fn a_session_timeout_below_the_brokers_minimum_is_refused_at_join() {
    let cluster = test_cluster();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let metadata = admin
        .inner()
        .fetch_metadata(None, Duration::from_secs(10))
        .unwrap();
    let broker = metadata.brokers().first().expect("a broker").id();
    let described = admin
        .describe_configs(
            &[ResourceSpecifier::Broker(broker)],
            &AdminOptions::new().request_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    let config = described
        .into_iter()
        .next()
        .unwrap()
        .expect("broker config");
    let minimum = config
        .get("group.min.session.timeout.ms")
        .and_then(|entry| entry.value.clone())
        .expect("group.min.session.timeout.ms");
    assert_eq!(minimum, "6000");

    let topic = TestTopic::create(&cluster, "ch03-min-session", 1, 1).await;
    let mut config = member_config(
        cluster.bootstrap_servers(),
        &unique_name("g"),
        Protocol::Cooperative,
        None,
    );
    config
        .set("session.timeout.ms", "5999")
        .set("heartbeat.interval.ms", "1000");
    let member = join(&config, "short", &topic.name).unwrap();
    let error = first_error(&member, Duration::from_secs(30))
        .await
        .expect("the join is refused");
    println!("{error}");
    assert_eq!(
        error.rdkafka_error_code(),
        Some(RDKafkaErrorCode::InvalidSessionTimeout),
        "{error}"
    );
    assert!(member.context().owned().is_empty());
    close(member).await;
}

/// Adds partitions to a topic (from 2 to 4) while a one-member group reads
/// it; returns how long until the member owned all four, or `None` if it
/// did not within `limit`.
async fn new_partitions_assigned_after(
    protocol: Protocol,
    extra: &[(&str, &str)],
    limit: Duration,
) -> Option<Duration> {
    let cluster = test_cluster();
    let topic = TestTopic::create(&cluster, "ch03-grow", 2, 1).await;
    let mut group = Group::new(
        cluster.bootstrap_servers(),
        &topic.name,
        &unique_name("g"),
        protocol,
    );
    group.join_with("a", None, extra).unwrap();
    group.settle(2, QUIET, LIMIT).await.unwrap();
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", cluster.bootstrap_servers())
        .create()
        .unwrap();
    let results = admin
        .create_partitions(
            &[NewPartitions::new(&topic.name, 4)],
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await
        .unwrap();
    assert!(results.iter().all(|r| r.is_ok()), "{results:?}");
    let grown = Instant::now();
    let mut waited = None;
    while grown.elapsed() < limit {
        if group.members[0].owned().len() == 4 {
            waited = Some(grown.elapsed());
            break;
        }
        group.run_for(Duration::from_millis(50)).await.unwrap();
    }
    group.close().await.unwrap();
    waited
}

/// Classic protocol: a member notices new partitions only when it next
/// refreshes its metadata (`topic.metadata.refresh.interval.ms`, 300000 ms
/// by default), then rejoins and the new partitions are assigned.
#[tokio::test]
async fn a_classic_member_gets_new_partitions_only_after_its_next_metadata_refresh() {
    let default =
        new_partitions_assigned_after(Protocol::Cooperative, &[], Duration::from_secs(10)).await;
    println!("cooperative-sticky, default metadata refresh: new partitions after {default:?}");
    assert_eq!(
        default, None,
        "not within 10 s with the default 5-minute refresh"
    );
    let refreshed = new_partitions_assigned_after(
        Protocol::Cooperative,
        &[("topic.metadata.refresh.interval.ms", "2000")],
        LIMIT,
    )
    .await;
    println!("cooperative-sticky, metadata refresh every 2 s: new partitions after {refreshed:?}");
    assert!(refreshed.is_some(), "assigned after a refresh");
}

/// KIP-848: the broker notices the new partitions and assigns them with a
/// heartbeat response; no client setting involved.
#[tokio::test]
async fn a_kip_848_member_gets_new_partitions_from_the_broker() {
    let waited = new_partitions_assigned_after(Protocol::Consumer, &[], LIMIT).await;
    println!("consumer protocol: new partitions after {waited:?}");
    assert!(waited.is_some(), "assigned by the broker");
}
