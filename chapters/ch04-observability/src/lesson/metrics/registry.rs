//! Registering the families: one line per metric, its name and help text.

use prometheus::{GaugeVec, IntCounterVec, IntGaugeVec, Opts, Registry};

use super::Families;

impl Families {
    #[rustfmt::skip]
    pub(super) fn register(r: &mut Registrar) -> Families {
        let (client, topic) = (&["client"][..], &["client", "topic"][..]);
        let (partition, broker) = (&["client", "topic", "partition"][..], &["client", "broker"][..]);
        Families {
            stats_time: r.gauge("kafka_client_stats_timestamp_seconds", "when librdkafka took the statistics (time, Unix seconds)", client),
            sent: r.counter("kafka_client_messages_sent_total", "messages sent to brokers (txmsgs)", client),
            received: r.counter("kafka_client_messages_received_total", "messages received from brokers (rxmsgs)", client),
            queue_messages: r.gauge("kafka_producer_queue_messages", "messages in the producer, not yet acknowledged (msg_cnt)", client),
            queue_bytes: r.gauge("kafka_producer_queue_bytes", "bytes of those messages (msg_size)", client),
            batch_messages: r.gauge("kafka_producer_batch_messages_avg", "messages per batch, last interval (batchcnt.avg)", topic),
            batch_bytes: r.gauge("kafka_producer_batch_bytes_avg", "bytes per batch, last interval (batchsize.avg)", topic),
            rtt_avg: r.seconds("kafka_broker_rtt_avg_seconds", "request round trip, last interval (rtt.avg)", broker),
            rtt_p99: r.seconds("kafka_broker_rtt_p99_seconds", "request round trip, last interval (rtt.p99)", broker),
            int_latency_avg: r.seconds("kafka_broker_internal_latency_avg_seconds", "time a record waited in the producer until its batch was built (int_latency.avg)", broker),
            outbuf_latency_avg: r.seconds("kafka_broker_outbuf_latency_avg_seconds", "time a request waited until it was written to the socket (outbuf_latency.avg)", broker),
            tx_errors: r.counter("kafka_broker_tx_errors_total", "request send errors (txerrs)", broker),
            tx_retries: r.counter("kafka_broker_tx_retries_total", "requests retried (txretries)", broker),
            rx_errors: r.counter("kafka_broker_rx_errors_total", "response errors (rxerrs)", broker),
            request_timeouts: r.counter("kafka_broker_request_timeouts_total", "requests timed out (req_timeouts)", broker),
            lag: r.gauge("kafka_consumer_lag_messages", "end offset (high watermark; LSO under read_committed) minus committed offset, as of the last fetch response (consumer_lag)", partition),
            lag_stored: r.gauge("kafka_consumer_lag_stored_messages", "end offset minus stored offset (consumer_lag_stored)", partition),
            fetch_queue: r.gauge("kafka_consumer_fetch_queue_messages", "messages fetched, not yet handed to the application (fetchq_cnt; without split partition queues: the whole consumer queue)", partition),
            committed: r.gauge("kafka_consumer_committed_offset", "last committed offset (committed_offset)", partition),
            stored: r.gauge("kafka_consumer_stored_offset", "offset stored for the next commit (stored_offset)", partition),
            high_watermark: r.gauge("kafka_partition_high_watermark", "high watermark from the last fetch response (hi_offset)", partition),
            rebalances: r.counter("kafka_consumer_rebalances_total", "rebalances this member went through (cgrp.rebalance_cnt)", client),
            assigned: r.gauge("kafka_consumer_assigned_partitions", "partitions assigned to this member (cgrp.assignment_size)", client),
        }
    }

    pub(super) fn reset(&self) {
        let gauges = [
            &self.stats_time,
            &self.queue_messages,
            &self.queue_bytes,
            &self.batch_messages,
            &self.batch_bytes,
            &self.lag,
            &self.lag_stored,
            &self.fetch_queue,
            &self.committed,
            &self.stored,
            &self.high_watermark,
            &self.assigned,
        ];
        gauges.iter().for_each(|family| family.reset());
        let seconds = [
            &self.rtt_avg,
            &self.rtt_p99,
            &self.int_latency_avg,
            &self.outbuf_latency_avg,
        ];
        seconds.iter().for_each(|family| family.reset());
        let counters = [
            &self.sent,
            &self.received,
            &self.tx_errors,
            &self.tx_retries,
            &self.rx_errors,
            &self.request_timeouts,
            &self.rebalances,
        ];
        counters.iter().for_each(|family| family.reset());
    }
}

/// Registers each family once and remembers its name.
pub(super) struct Registrar {
    pub(super) registry: Registry,
    pub(super) names: Vec<String>,
}

impl Registrar {
    fn add<C: prometheus::core::Collector + Clone + 'static>(
        &mut self,
        name: &str,
        family: C,
    ) -> C {
        self.registry
            .register(Box::new(family.clone()))
            .expect("each name registered once");
        self.names.push(name.to_string());
        family
    }

    fn gauge(&mut self, name: &str, help: &str, labels: &[&str]) -> IntGaugeVec {
        let family = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid metric name");
        self.add(name, family)
    }

    fn seconds(&mut self, name: &str, help: &str, labels: &[&str]) -> GaugeVec {
        let family = GaugeVec::new(Opts::new(name, help), labels).expect("valid metric name");
        self.add(name, family)
    }

    fn counter(&mut self, name: &str, help: &str, labels: &[&str]) -> IntCounterVec {
        let family = IntCounterVec::new(Opts::new(name, help), labels).expect("valid metric name");
        self.add(name, family)
    }
}
