//! The review queue: flagged calls by priority, then a deterministic sample of the
//! unflagged ones.

use callscope_component::annotation::{QueueCandidate, QueueEntry, QueueReason, review_queue};

fn candidate(call_id: &str, flag_codes: &[&str], max_latency_ms: Option<i64>) -> QueueCandidate {
    QueueCandidate {
        call_id: call_id.into(),
        flag_codes: flag_codes.iter().map(|code| code.to_string()).collect(),
        max_latency_ms,
    }
}

fn candidates() -> Vec<QueueCandidate> {
    vec![
        candidate("slow-1", &["slow-response"], Some(2600)),
        candidate("misaligned", &["clock-offset", "dead-air"], None),
        candidate("clean", &[], Some(900)),
        candidate("slow-2", &["slow-response"], Some(2600)),
        candidate(
            "worst",
            &["false-interruption", "slow-response", "slow-response"],
            Some(12_000),
        ),
        candidate("odd", &["mystery-code"], Some(-5)),
    ]
}

fn ids(queue: &[QueueEntry]) -> Vec<&str> {
    queue.iter().map(|entry| entry.call_id.as_str()).collect()
}

#[test]
fn flagged_calls_ordered_by_priority() {
    let queue = review_queue(&candidates(), 0, 7);

    // worst: 10 + 20 + 20 for its flags, latency 12 s adds 48 points capped at 40 = 90.
    // misaligned: 40 + 30 = 70.
    // slow-1 and slow-2: 20, latency 2600 ms adds 2600 / 250 = 10 points = 30 each; they
    // keep their input order.
    // odd: an unknown code weighs 10; a negative latency adds nothing.
    assert_eq!(
        ids(&queue),
        ["worst", "misaligned", "slow-1", "slow-2", "odd"]
    );
    let priorities: Vec<u32> = queue.iter().map(|entry| entry.priority).collect();
    assert_eq!(priorities, [90, 70, 30, 30, 10]);
    assert!(
        queue
            .iter()
            .all(|entry| entry.reason == QueueReason::Flagged)
    );
}

#[test]
fn full_sample_appends_unflagged_calls() {
    let queue = review_queue(&candidates(), 1000, 7);

    assert_eq!(
        ids(&queue),
        ["worst", "misaligned", "slow-1", "slow-2", "odd", "clean"]
    );
    let last = queue.last().unwrap();
    assert_eq!(last.reason, QueueReason::Sampled);
    assert_eq!(last.reason.as_str(), "sampled");
    assert_eq!(last.priority, 0);
}

#[test]
fn sample_above_thousand_counts_as_all() {
    let queue = review_queue(&candidates(), 5000, 7);

    assert_eq!(queue.len(), 6);
}

fn unflagged(count: usize) -> Vec<QueueCandidate> {
    (0..count)
        .map(|index| candidate(&format!("call-{index}"), &[], None))
        .collect()
}

#[test]
fn sample_size_near_per_mille() {
    // 2000 calls at 100 per mille: 200 expected, standard deviation
    // sqrt(2000 * 0.1 * 0.9) = 13.4, so 150..=250 reaches 3.7 deviations either side.
    let queue = review_queue(&unflagged(2000), 100, 42);

    assert!(
        (150..=250).contains(&queue.len()),
        "{} sampled",
        queue.len()
    );
    assert!(
        queue
            .iter()
            .all(|entry| entry.reason == QueueReason::Sampled)
    );
}

#[test]
fn sample_is_deterministic() {
    let first = review_queue(&unflagged(500), 200, 42);
    let second = review_queue(&unflagged(500), 200, 42);

    assert_eq!(first, second);
}

#[test]
fn sample_membership_ignores_other_calls() {
    // A call is sampled or not by its own id and the seed, so adding calls keeps the
    // earlier sample as a prefix.
    let small = review_queue(&unflagged(300), 200, 42);
    let large = review_queue(&unflagged(600), 200, 42);

    assert_eq!(ids(&large)[..small.len()], ids(&small)[..]);
}

#[test]
fn seed_changes_sample() {
    let first = review_queue(&unflagged(500), 200, 1);
    let second = review_queue(&unflagged(500), 200, 2);

    assert_ne!(ids(&first), ids(&second));
}

#[test]
fn empty_candidates_give_empty_queue() {
    assert!(review_queue(&[], 1000, 0).is_empty());
}
