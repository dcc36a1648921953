//! The cadence experiments' extra client: a `BaseProducer` with the
//! lesson's context (it needs a `ProducerContext`; the lesson's producer is
//! a `FutureProducer`, which wraps any context in its own).

use rdkafka::message::DeliveryResult;
use rdkafka::producer::ProducerContext;

use crate::lesson::stats::StatsContext;

impl ProducerContext for StatsContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}
