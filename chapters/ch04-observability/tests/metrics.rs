//! `/metrics` scraped over HTTP and read by a real Prometheus text-format
//! parser: the values are the statistics' values; and what the endpoint
//! says when it has nothing to show or cannot start.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use ch04_observability::lab::load::fill_partitions;
use ch04_observability::lab::scrape;
use ch04_observability::lab::snapshots::{next_snapshot, partitions};
use ch04_observability::lesson::consume::consume_until;
use ch04_observability::lesson::endpoint::{EndpointError, serve};
use ch04_observability::lesson::metrics::{Metrics, metric_names};
use ch04_observability::lesson::stats::{
    StatsContext, consumer_config, context_for, producer_config,
};
use prometheus_parse::{Sample, Scrape, Value};
use rdkafka::Statistics;
use rdkafka::consumer::{CommitMode, Consumer, StreamConsumer};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::{Offset, TopicPartitionList};
use tokio_util::sync::CancellationToken;
use tutorial_lab::{TestTopic, test_cluster, unique_name, within};

fn parse(body: &str) -> Scrape {
    Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).expect("Prometheus text format")
}

/// The one sample of `metric` whose labels include all of `labels`.
fn sample<'a>(scrape: &'a Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<&'a Sample> {
    let mut found = scrape
        .samples
        .iter()
        .filter(|s| s.metric == metric && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)));
    let first = found.next();
    assert!(found.next().is_none(), "{metric} {labels:?} is not unique");
    first
}

fn gauge(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    sample(scrape, metric, labels).map(|s| match s.value {
        Value::Gauge(v) => v,
        ref other => panic!("{metric} should be a gauge: {other:?}"),
    })
}

fn counter(scrape: &Scrape, metric: &str, labels: &[(&str, &str)]) -> Option<f64> {
    sample(scrape, metric, labels).map(|s| match s.value {
        Value::Counter(v) => v,
        ref other => panic!("{metric} should be a counter: {other:?}"),
    })
}

/// Scrapes until no statistics arrived during the scrape, so the scrape
/// and the returned snapshots are the same statistics.
async fn stable_scrape(
    address: std::net::SocketAddr,
    contexts: &[&StatsContext],
) -> (Scrape, Vec<Statistics>) {
    within(
        Duration::from_secs(30),
        "a scrape between two statistics",
        async {
            loop {
                let before: Vec<u64> = contexts.iter().map(|c| c.callbacks()).collect();
                let (status, body) = scrape::get(address, "/metrics")
                    .await
                    .expect("GET /metrics");
                let after: Vec<u64> = contexts.iter().map(|c| c.callbacks()).collect();
                if before == after {
                    assert_eq!(status, 200, "{body}");
                    return (
                        parse(&body),
                        contexts.iter().map(|c| c.latest().unwrap()).collect(),
                    );
                }
            }
        },
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_scraped_metrics_parse_as_prometheus_text_and_equal_the_statistics() {
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "obs-metrics", 2, 1).await;
    fill_partitions(bootstrap, &topic.name, &[30, 10])
        .await
        .unwrap();
    let metrics = Metrics::new();
    let server = serve(0, metrics.clone()).await.expect("endpoint");

    // A producer that keeps writing (to another topic), so its batch and
    // latency windows are not empty, and a consumer with a known backlog.
    let out = TestTopic::create(&cluster, "obs-metrics-out", 1, 1).await;
    let config = producer_config(bootstrap, 5, 1000);
    let producer_context = context_for(&config, &metrics, "a producer");
    let producer: FutureProducer<StatsContext> = config
        .create_with_context(producer_context.clone())
        .unwrap();
    let stop = CancellationToken::new();
    let writer = tokio::spawn({
        let (producer, topic, stop) = (producer.clone(), out.name.clone(), stop.clone());
        async move {
            while !stop.is_cancelled() {
                let record = FutureRecord::<(), _>::to(&topic).payload("tick");
                producer
                    .send(record, Duration::from_secs(5))
                    .await
                    .expect("delivered");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let config = consumer_config(bootstrap, &unique_name("obs-metrics"), 1000);
    let consumer: Arc<StreamConsumer<StatsContext>> = Arc::new(
        config
            .create_with_context(context_for(&config, &metrics, "a consumer"))
            .unwrap(),
    );
    consumer.subscribe(&[&topic.name]).unwrap();
    let handled = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let reader = tokio::spawn({
        let (consumer, stop, handled) = (Arc::clone(&consumer), stop.clone(), Arc::clone(&handled));
        async move {
            consume_until(&consumer, &stop, Duration::from_secs(3600), |_| {
                handled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            })
            .await
        }
    });
    within(Duration::from_secs(30), "40 records consumed", async {
        while handled.load(std::sync::atomic::Ordering::Relaxed) < 40 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    let mut offsets = TopicPartitionList::new();
    for partition in [0, 1] {
        offsets
            .add_partition_offset(&topic.name, partition, Offset::Offset(10))
            .unwrap();
    }
    let committer = Arc::clone(&consumer);
    tokio::task::spawn_blocking(move || committer.commit(&offsets, CommitMode::Sync))
        .await
        .unwrap()
        .expect("commit");
    next_snapshot(consumer.context(), 2, Duration::from_secs(10))
        .await
        .expect("statistics");

    let (scrape, latest) =
        stable_scrape(server.address, &[consumer.context(), &producer_context]).await;
    let (c, p) = (&latest[0], &latest[1]);

    // Consumer: per partition, and the group.
    let client = c.name.as_str();
    let mut lags = Vec::new();
    for (partition, stats) in partitions(c, &topic.name) {
        let partition = partition.to_string();
        let labels = [
            ("client", client),
            ("topic", topic.name.as_str()),
            ("partition", partition.as_str()),
        ];
        let lag = gauge(&scrape, "kafka_consumer_lag_messages", &labels);
        assert_eq!(lag, Some(stats.consumer_lag as f64));
        lags.push(lag.unwrap());
        assert_eq!(
            gauge(&scrape, "kafka_consumer_lag_stored_messages", &labels),
            Some(stats.consumer_lag_stored as f64)
        );
        assert_eq!(
            gauge(&scrape, "kafka_consumer_committed_offset", &labels),
            Some(stats.committed_offset as f64)
        );
        assert_eq!(
            gauge(&scrape, "kafka_consumer_stored_offset", &labels),
            Some(stats.stored_offset as f64)
        );
        assert_eq!(
            gauge(&scrape, "kafka_partition_high_watermark", &labels),
            Some(stats.hi_offset as f64)
        );
        assert_eq!(
            gauge(&scrape, "kafka_consumer_fetch_queue_messages", &labels),
            Some(stats.fetchq_cnt as f64)
        );
    }
    assert_eq!(lags, [20.0, 0.0], "the backlog: 30-10 and 10-10");
    let group = c.cgrp.as_ref().expect("group statistics");
    assert_eq!(
        counter(
            &scrape,
            "kafka_consumer_rebalances_total",
            &[("client", client)]
        ),
        Some(group.rebalance_cnt as f64)
    );
    assert_eq!(
        gauge(
            &scrape,
            "kafka_consumer_assigned_partitions",
            &[("client", client)]
        ),
        Some(2.0)
    );
    assert_eq!(
        counter(
            &scrape,
            "kafka_client_messages_received_total",
            &[("client", client)]
        ),
        Some(c.rxmsgs as f64)
    );
    assert_eq!(
        gauge(
            &scrape,
            "kafka_client_stats_timestamp_seconds",
            &[("client", client)]
        ),
        Some(c.time as f64)
    );
    assert_eq!(
        gauge(
            &scrape,
            "kafka_producer_queue_messages",
            &[("client", client)]
        ),
        None,
        "consumers have no producer queue"
    );

    // Producer: throughput, queue, batches, per-broker latency and errors.
    let client = p.name.as_str();
    assert_eq!(
        counter(
            &scrape,
            "kafka_client_messages_sent_total",
            &[("client", client)]
        ),
        Some(p.txmsgs as f64)
    );
    assert!(p.txmsgs > 0);
    assert_eq!(
        gauge(
            &scrape,
            "kafka_producer_queue_messages",
            &[("client", client)]
        ),
        Some(p.msg_cnt as f64)
    );
    assert_eq!(
        gauge(&scrape, "kafka_producer_queue_bytes", &[("client", client)]),
        Some(p.msg_size as f64)
    );
    let t = &p.topics[&out.name];
    let labels = [("client", client), ("topic", out.name.as_str())];
    assert!(t.batchcnt.cnt > 0, "batches in the last interval");
    assert_eq!(
        gauge(&scrape, "kafka_producer_batch_messages_avg", &labels),
        Some(t.batchcnt.avg as f64)
    );
    assert_eq!(
        gauge(&scrape, "kafka_producer_batch_bytes_avg", &labels),
        Some(t.batchsize.avg as f64)
    );
    let mut brokers = 0;
    for b in p.brokers.values().filter(|b| b.nodeid >= 0) {
        let broker = b.nodeid.to_string();
        let labels = [("client", client), ("broker", broker.as_str())];
        let rtt = b.rtt.as_ref().expect("rtt window");
        assert!(rtt.cnt > 0, "requests in the last interval");
        let scraped = gauge(&scrape, "kafka_broker_rtt_avg_seconds", &labels).unwrap();
        assert!(
            (scraped - rtt.avg as f64 / 1e6).abs() < 1e-9,
            "{scraped} vs {} µs",
            rtt.avg
        );
        let scraped = gauge(&scrape, "kafka_broker_rtt_p99_seconds", &labels).unwrap();
        assert!((scraped - rtt.p99 as f64 / 1e6).abs() < 1e-9);
        let int_latency = b.int_latency.as_ref().expect("int_latency window");
        let scraped = gauge(
            &scrape,
            "kafka_broker_internal_latency_avg_seconds",
            &labels,
        )
        .unwrap();
        assert!((scraped - int_latency.avg as f64 / 1e6).abs() < 1e-9);
        assert_eq!(
            counter(&scrape, "kafka_broker_tx_errors_total", &labels),
            Some(b.txerrs as f64)
        );
        assert_eq!(
            counter(&scrape, "kafka_broker_tx_retries_total", &labels),
            Some(b.txretries as f64)
        );
        assert_eq!(
            counter(&scrape, "kafka_broker_request_timeouts_total", &labels),
            Some(b.req_timeouts as f64)
        );
        brokers += 1;
    }
    assert!(brokers >= 1);

    // Every family served is one the lesson declares, with its help text.
    let declared: BTreeSet<String> = metric_names().into_iter().collect();
    let served: BTreeSet<String> = scrape.samples.iter().map(|s| s.metric.clone()).collect();
    assert!(
        served.is_subset(&declared),
        "{:?}",
        served.difference(&declared).collect::<Vec<_>>()
    );
    assert!(served.len() >= 20, "{served:?}");
    for name in &served {
        assert!(scrape.docs.contains_key(name), "no HELP for {name}");
    }

    stop.cancel();
    let _ = writer.await;
    let _ = reader.await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_statistics_off_the_endpoint_says_metrics_are_off_instead_of_serving_zeros() {
    let cluster = test_cluster();
    let metrics = Metrics::new();
    let server = serve(0, metrics.clone()).await.expect("endpoint");
    // Before any client: nothing yet, and it says so.
    let (status, body) = scrape::get(server.address, "/metrics").await.unwrap();
    assert_eq!(status, 503);
    assert!(body.contains("no statistics yet"), "{body}");

    let config = consumer_config(cluster.bootstrap_servers(), &unique_name("obs-off"), 0);
    let context = context_for(&config, &metrics, "a consumer");
    let consumer: StreamConsumer<StatsContext> =
        config.create_with_context(context.clone()).unwrap();
    let topic = TestTopic::create(&cluster, "obs-off", 1, 1).await;
    fill_partitions(cluster.bootstrap_servers(), &topic.name, &[5])
        .await
        .unwrap();
    consumer.subscribe(&[&topic.name]).unwrap();
    for _ in 0..5 {
        within(Duration::from_secs(30), "a record", consumer.recv())
            .await
            .unwrap();
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        context.callbacks(),
        0,
        "statistics.interval.ms=0: librdkafka emits none"
    );
    let (status, body) = scrape::get(server.address, "/metrics").await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("metrics are off") && body.contains("statistics.interval.ms=0"),
        "{body}"
    );
    assert!(!body.contains("kafka_"), "no metric lines: {body}");
}

#[tokio::test]
async fn a_metrics_port_already_in_use_is_a_clear_error_naming_the_port() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let error = match serve(port, Metrics::new()).await {
        Err(error) => error,
        Ok(_) => panic!("port {port} is taken, serve must fail"),
    };
    assert!(
        matches!(error, EndpointError::PortInUse { port: p } if p == port),
        "{error:?}"
    );
    let text = error.to_string();
    assert!(
        text.contains(&port.to_string()) && text.contains("already in use"),
        "{text}"
    );
}

/// The chapter's Grafana dashboard.
const DASHBOARD: &str = include_str!("../grafana/dashboard.json");

/// One PromQL query of the dashboard: where it is, the metric names it
/// selects, and the label names it matches on or groups by.
#[derive(Debug)]
struct Query {
    panel: String,
    metrics: BTreeSet<String>,
    labels: BTreeSet<String>,
}

/// Collects metric and label names from a parsed expression.
#[derive(Default)]
struct Names {
    metrics: BTreeSet<String>,
    labels: BTreeSet<String>,
}

impl promql_parser::util::ExprVisitor for Names {
    type Error = std::convert::Infallible;

    fn pre_visit(&mut self, expr: &promql_parser::parser::Expr) -> Result<bool, Self::Error> {
        use promql_parser::parser::Expr;
        let selector = match expr {
            Expr::VectorSelector(vs) => Some(vs),
            Expr::MatrixSelector(ms) => Some(&ms.vs),
            Expr::Aggregate(agg) => {
                if let Some(modifier) = &agg.modifier {
                    self.labels.extend(modifier.labels().labels.iter().cloned());
                }
                None
            }
            _ => None,
        };
        if let Some(vs) = selector {
            self.metrics.extend(vs.name.clone());
            self.labels
                .extend(vs.matchers.matchers.iter().map(|m| m.name.clone()));
        }
        Ok(true)
    }
}

/// Parses a Grafana query as PromQL, with Grafana's variables replaced by
/// what they stand for.
fn parse_query(panel: &str, expr: &str) -> Query {
    let promql = expr
        .replace("$__rate_interval", "1m")
        .replace("$client", ".+");
    let parsed = promql_parser::parser::parse(&promql)
        .unwrap_or_else(|e| panic!("panel {panel:?}: not valid PromQL: {e}\n{expr}"));
    let mut names = Names::default();
    promql_parser::util::walk_expr(&mut names, &parsed).expect("infallible");
    Query {
        panel: panel.to_string(),
        metrics: names.metrics,
        labels: names.labels,
    }
}

/// Every query of the dashboard: the panels' targets (rows included) and
/// the `label_values(metric, label)` of its variables.
fn dashboard_queries(dashboard: &serde_json::Value) -> (usize, Vec<Query>) {
    fn walk(panels: &serde_json::Value, count: &mut usize, queries: &mut Vec<Query>) {
        for panel in panels.as_array().into_iter().flatten() {
            let title = panel["title"].as_str().expect("every panel has a title");
            if panel["type"] == "row" {
                walk(&panel["panels"], count, queries);
                continue;
            }
            *count += 1;
            let targets = panel["targets"].as_array().expect("a panel's targets");
            assert!(!targets.is_empty(), "panel {title:?} has no query");
            for target in targets {
                let expr = target["expr"].as_str().expect("a PromQL expr");
                queries.push(parse_query(title, expr));
            }
        }
    }
    let (mut count, mut queries) = (0, Vec::new());
    walk(&dashboard["panels"], &mut count, &mut queries);
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(definition) = variable["definition"].as_str() {
            let inner = definition
                .strip_prefix("label_values(")
                .and_then(|d| d.strip_suffix(')'))
                .unwrap_or_else(|| panic!("variable query {definition:?}"));
            let (metric, label) = inner.split_once(',').expect("label_values(metric, label)");
            let mut query = parse_query(&format!("variable {}", variable["name"]), metric.trim());
            query.labels.insert(label.trim().to_string());
            queries.push(query);
        }
    }
    (count, queries)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_grafana_dashboard_is_valid_json_and_queries_only_metrics_the_endpoint_serves() {
    let dashboard: serde_json::Value =
        serde_json::from_str(DASHBOARD).expect("grafana/dashboard.json is valid JSON");
    let (panels, queries) = dashboard_queries(&dashboard);
    let referenced: BTreeSet<String> = queries.iter().flat_map(|q| q.metrics.clone()).collect();
    for query in &queries {
        assert!(
            !query.metrics.is_empty(),
            "panel {:?} reads no metric",
            query.panel
        );
    }
    // It shows every metric the lesson declares, and nothing else.
    let declared: BTreeSet<String> = metric_names().into_iter().collect();
    assert_eq!(referenced, declared);

    // A real endpoint with a producer and a consumer at work: one scrape
    // that serves every metric the dashboard reads.
    let cluster = test_cluster();
    let bootstrap = cluster.bootstrap_servers();
    let topic = TestTopic::create(&cluster, "obs-dashboard", 1, 1).await;
    let metrics = Metrics::new();
    let server = serve(0, metrics.clone()).await.expect("endpoint");
    let config = producer_config(bootstrap, 5, 500);
    let producer: FutureProducer<StatsContext> = config
        .create_with_context(context_for(&config, &metrics, "a producer"))
        .unwrap();
    let config = consumer_config(bootstrap, &unique_name("obs-dashboard"), 500);
    let consumer: Arc<StreamConsumer<StatsContext>> = Arc::new(
        config
            .create_with_context(context_for(&config, &metrics, "a consumer"))
            .unwrap(),
    );
    consumer.subscribe(&[&topic.name]).unwrap();
    let stop = CancellationToken::new();
    let writer = tokio::spawn({
        let (producer, topic, stop) = (producer.clone(), topic.name.clone(), stop.clone());
        async move {
            while !stop.is_cancelled() {
                let record = FutureRecord::<(), _>::to(&topic).payload("tick");
                producer
                    .send(record, Duration::from_secs(5))
                    .await
                    .expect("delivered");
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        }
    });
    let reader = tokio::spawn({
        let (consumer, stop) = (Arc::clone(&consumer), stop.clone());
        async move { consume_until(&consumer, &stop, Duration::from_millis(200), |_| {}).await }
    });
    let scrape = within(
        Duration::from_secs(30),
        "a scrape that serves every metric the dashboard reads",
        async {
            loop {
                tokio::time::sleep(Duration::from_millis(500)).await;
                let (status, body) = scrape::get(server.address, "/metrics")
                    .await
                    .expect("GET /metrics");
                if status != 200 {
                    continue;
                }
                let scrape = parse(&body);
                let served: BTreeSet<&str> =
                    scrape.samples.iter().map(|s| s.metric.as_str()).collect();
                if referenced.iter().all(|m| served.contains(m.as_str())) {
                    return scrape;
                }
            }
        },
    )
    .await;
    // Every label a query matches on or groups by is on the series it reads.
    for query in &queries {
        for label in &query.labels {
            assert!(
                scrape
                    .samples
                    .iter()
                    .any(|s| query.metrics.contains(&s.metric) && s.labels.get(label).is_some()),
                "panel {:?}: no served series of {:?} has the label {label:?}",
                query.panel,
                query.metrics
            );
        }
    }
    eprintln!(
        "dashboard: {panels} panels, {} queries, {} metrics, all served by one scrape of {} samples",
        queries.len(),
        referenced.len(),
        scrape.samples.len()
    );
    stop.cancel();
    let _ = writer.await;
    let _ = reader.await;
}
