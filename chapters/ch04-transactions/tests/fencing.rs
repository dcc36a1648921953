//! Zombie fencing on the real broker: two instances with one
//! transactional.id.

use ch04_transactions::lab::scenes;
use ch04_transactions::lesson::producer::Class;
use tutorial_lab::test_cluster;

#[tokio::test]
async fn a_second_instance_fences_the_first_whose_late_writes_never_become_visible() {
    let fenced = scenes::fencing(&test_cluster()).await.unwrap();
    // librdkafka raises a fatal error with RD_KAFKA_RESP_ERR__FENCED.
    assert_eq!(fenced.code, "Fenced", "{fenced:?}");
    assert_eq!(fenced.class, Class::Fatal, "{fenced:?}");
    assert!(fenced.error.contains("fenced"), "{fenced:?}");
    // Only the new instance's record is committed; the old one's first
    // record was aborted by the new instance's init_transactions.
    assert_eq!(fenced.committed, ["new-0"], "{fenced:?}");
    assert!(
        !fenced.uncommitted.iter().any(|p| p == "old-1"),
        "{fenced:?}"
    );
    assert!(
        fenced.uncommitted.iter().any(|p| p == "old-0"),
        "{fenced:?}"
    );
}
