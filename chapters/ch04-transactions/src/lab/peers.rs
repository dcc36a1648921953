//! What other clients return from a topic our transactional producer wrote:
//! kafka-go's `Reader` (v0.4.51) and Kafka's own console consumer (Java)
//! with `--isolation-level read_committed`.
