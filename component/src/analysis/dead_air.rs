//! Dead air: silence of every party, long enough that a caller notices it.

use callscope_api_types::{DeadAir, MeasureSource};

/// Finds gaps of at least `min_ms` in the union of `spans`, between the first
/// start and the last end. Spans with the end before the start are ignored.
pub(crate) fn find(
    spans: impl Iterator<Item = (i64, i64)>,
    min_ms: i64,
    source: MeasureSource,
) -> Vec<DeadAir> {
    let mut ordered: Vec<(i64, i64)> = spans.filter(|(start, end)| end >= start).collect();
    ordered.sort_unstable();

    let mut found = Vec::new();
    let Some((&(_, first_end), rest)) = ordered.split_first() else {
        return found;
    };
    let mut covered_until = first_end;
    for &(start_ms, end_ms) in rest {
        let silence = start_ms - covered_until;
        if silence > 0 && silence >= min_ms {
            found.push(DeadAir {
                start_ms: covered_until,
                end_ms: start_ms,
                duration_ms: silence,
                source,
            });
        }
        covered_until = covered_until.max(end_ms);
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_gap_is_dead_air() {
        let spans = [(0, 1_000), (500, 2_000), (4_500, 5_000)];
        let found = find(spans.into_iter(), 2_000, MeasureSource::Audio);
        assert_eq!(found.len(), 1);
        assert_eq!((found[0].start_ms, found[0].duration_ms), (2_000, 2_500));
    }

    #[test]
    fn gap_covered_by_other_party_is_not_dead_air() {
        let spans = [(0, 1_000), (800, 6_000), (5_000, 7_000)];
        assert!(find(spans.into_iter(), 2_000, MeasureSource::Audio).is_empty());
    }
}
