//! The review queue: flagged calls by how bad their flags are, then a deterministic
//! random sample of unflagged calls, so that reviewers also see calls the rules missed.

/// A call that may enter the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueCandidate {
    pub call_id: String,
    /// Analysis flag codes of the call, one per flag raised.
    pub flag_codes: Vec<String>,
    pub max_latency_ms: Option<i64>,
}

/// Reason a call is in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueReason {
    Flagged,
    Sampled,
}

impl QueueReason {
    /// Returns the name used in the API: `flagged` or `sampled`.
    pub fn as_str(self) -> &'static str {
        match self {
            QueueReason::Flagged => "flagged",
            QueueReason::Sampled => "sampled",
        }
    }
}

/// One call in the queue. The host adds the title, assignee and progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueueEntry {
    pub call_id: String,
    /// Higher comes first; 0 for sampled calls.
    pub priority: u32,
    pub reason: QueueReason,
}

/// How often one flag code counts towards the priority, so that a call with a slow
/// response on every turn does not bury a call whose recording is misaligned.
const MAX_COUNTED_PER_CODE: usize = 5;

/// Response latency worth one priority point, and the most points latency adds: one
/// point per 250 ms, up to 40 points at 10 s.
const LATENCY_MS_PER_POINT: i64 = 250;
const MAX_LATENCY_POINTS: i64 = 40;

/// Returns the priority weight of one flag.
///
/// | code | weight | why |
/// |---|---|---|
/// | `clock-offset`, `speech-on-silent-channel` | 40 | the recording or its channels are misaligned, so every time shown is suspect |
/// | `dead-air` | 30 | the caller heard nothing |
/// | `slow-response` | 20 | the caller waited |
/// | `talk-over`, `barge-in` | 15 | the parties spoke over each other |
/// | `false-interruption` | 10 | the bot stopped for a noise |
/// | any other code | 10 | |
fn flag_weight(code: &str) -> u32 {
    match code {
        "clock-offset" | "speech-on-silent-channel" => 40,
        "dead-air" => 30,
        "slow-response" => 20,
        "talk-over" | "barge-in" => 15,
        _ => 10,
    }
}

/// Orders calls for review.
///
/// Flagged calls come first, by priority: the sum of their flags' weights (each code
/// counted at most [`MAX_COUNTED_PER_CODE`] times) plus one point per
/// [`LATENCY_MS_PER_POINT`] of their maximum response latency, up to
/// [`MAX_LATENCY_POINTS`]. Unflagged calls follow when sampled: each is in the sample
/// with probability `sample_per_mille / 1000` (values above 1000 count as 1000), as a
/// hash of `seed` and its call id decides. A call's membership therefore depends on
/// nothing else, and stays the same as calls are added. Calls of equal priority keep
/// their input order; unflagged calls that are not sampled are left out.
pub fn review_queue(
    candidates: &[QueueCandidate],
    sample_per_mille: u32,
    seed: u64,
) -> Vec<QueueEntry> {
    let mut flagged = Vec::new();
    let mut sampled = Vec::new();

    for candidate in candidates {
        if candidate.flag_codes.is_empty() {
            if is_sampled(&candidate.call_id, sample_per_mille, seed) {
                sampled.push(QueueEntry {
                    call_id: candidate.call_id.clone(),
                    priority: 0,
                    reason: QueueReason::Sampled,
                });
            }
        } else {
            flagged.push(QueueEntry {
                call_id: candidate.call_id.clone(),
                priority: priority(candidate),
                reason: QueueReason::Flagged,
            });
        }
    }

    // The sort is stable, so equal priorities keep their input order.
    flagged.sort_by_key(|entry| std::cmp::Reverse(entry.priority));
    flagged.extend(sampled);
    flagged
}

fn priority(candidate: &QueueCandidate) -> u32 {
    let mut codes: Vec<&str> = candidate.flag_codes.iter().map(String::as_str).collect();
    codes.sort_unstable();

    let mut total: u32 = 0;
    let mut counted = 0;
    for (index, code) in codes.iter().enumerate() {
        counted = if index > 0 && codes[index - 1] == *code {
            counted + 1
        } else {
            1
        };
        if counted <= MAX_COUNTED_PER_CODE {
            total = total.saturating_add(flag_weight(code));
        }
    }

    let latency_points = candidate.max_latency_ms.map_or(0, |latency| {
        (latency.max(0) / LATENCY_MS_PER_POINT).min(MAX_LATENCY_POINTS)
    });
    total.saturating_add(u32::try_from(latency_points).expect("latency points are at most 40"))
}

fn is_sampled(call_id: &str, sample_per_mille: u32, seed: u64) -> bool {
    sample_hash(seed, call_id) % 1000 < u64::from(sample_per_mille.min(1000))
}

/// Hashes the seed and call id with 64-bit FNV-1a, then mixes the result with the
/// SplitMix64 finaliser so that the low digits used by the sample are uniform. Both
/// are fixed algorithms, so a sample is the same on every platform and version.
fn sample_hash(seed: u64, call_id: &str) -> u64 {
    let bytes: Vec<u8> = seed
        .to_le_bytes()
        .into_iter()
        .chain(call_id.bytes())
        .collect();
    splitmix64_mix(fnv1a_64(&bytes))
}

fn fnv1a_64(bytes: &[u8]) -> u64 {
    const OFFSET_BASIS: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;

    bytes.iter().fold(OFFSET_BASIS, |hash, &byte| {
        (hash ^ u64::from(byte)).wrapping_mul(PRIME)
    })
}

fn splitmix64_mix(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv1a_known_values() {
        // "" hashes to the offset basis. The other values were computed with an
        // independent Python implementation of 64-bit FNV-1a.
        assert_eq!(fnv1a_64(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a_64(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a_64(b"foobar"), 0x8594_4171_f739_67e8);
    }

    #[test]
    fn splitmix64_first_output() {
        // SplitMix64 seeded with 0 first adds the golden gamma 0x9e3779b97f4a7c15, then
        // mixes it. The expected output was computed with a Python implementation.
        assert_eq!(splitmix64_mix(0x9e37_79b9_7f4a_7c15), 0xe220_a839_7b1d_cdaf);
    }

    #[test]
    fn repeated_code_counts_five_times() {
        let candidate = QueueCandidate {
            call_id: "c".into(),
            flag_codes: vec!["slow-response".into(); 8],
            max_latency_ms: None,
        };

        assert_eq!(priority(&candidate), 5 * 20);
    }
}
