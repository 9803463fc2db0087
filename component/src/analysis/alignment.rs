//! Event-to-recording alignment: the offset and drift between the times the vendor
//! reported for utterances and the speech found on the recording.
//!
//! Each utterance start is paired with the speech onsets of its speaker's audio. The
//! most common difference (in [`BIN_MS`] bins, within ±[`SEARCH_MS`]) gives a coarse
//! offset. Every start is then matched to the onset nearest to it under that offset.
//! Matches far from the median difference are dropped, a least-squares line is
//! fitted, matches far from the line are dropped, and the line is fitted again: its
//! intercept is the offset and its slope the drift. Utterance starts inside
//! continuous speech (two utterances the detector heard as one) find no onset of
//! their own and fall out as outliers.

use callscope_api_types::Alignment;

/// Largest event-to-recording difference searched for.
const SEARCH_MS: i64 = 3_000;

/// Histogram bin for the coarse offset; about twice the onset error of the detector.
const BIN_MS: i64 = 40;

/// Largest distance from the coarse offset at which a start still matches an onset.
const MATCH_MS: i64 = 250;

/// Matched starts needed before an alignment is reported.
const MIN_MATCHES: usize = 3;

/// Recording span the matches must cover before drift is fitted; over a shorter span
/// onset errors of tens of milliseconds would read as drift.
const MIN_DRIFT_SPAN_MS: i64 = 60_000;

/// Smallest outlier threshold, so that a near-perfect fit does not discard matches
/// that are off by a few milliseconds.
const MIN_OUTLIER_MS: f64 = 40.0;

/// One utterance start and the sorted speech onsets it may match.
pub(crate) struct Anchor<'a> {
    pub event_ms: i64,
    pub onsets: &'a [i64],
}

/// Fits the alignment, or returns `None` when fewer than [`MIN_MATCHES`] starts match.
pub(crate) fn fit(anchors: &[Anchor<'_>]) -> Option<Alignment> {
    let coarse = coarse_offset(anchors)?;

    let mut pairs: Vec<(f64, f64)> = anchors
        .iter()
        .filter_map(|anchor| {
            let onset = nearest(anchor.onsets, anchor.event_ms - coarse)?;
            let difference = anchor.event_ms - onset;
            ((difference - coarse).abs() <= MATCH_MS).then_some((onset as f64, difference as f64))
        })
        .collect();
    if pairs.len() < MIN_MATCHES {
        return None;
    }

    // First against the median difference, then against the fitted line, drop
    // matches further off than three robust standard deviations.
    let centre = median(pairs.iter().map(|pair| pair.1).collect());
    pairs = without_outliers(&pairs, |_| centre);
    let (mut offset, mut slope) = line(&pairs);
    pairs = without_outliers(&pairs, |onset| offset + slope * onset);
    (offset, slope) = line(&pairs);

    let max_difference_ms = pairs
        .iter()
        .map(|&(_, difference)| difference.abs())
        .fold(0.0, f64::max);
    Some(Alignment {
        offset_ms: offset.round() as i64,
        drift_ms_per_minute: slope * 60_000.0,
        max_difference_ms: max_difference_ms.round() as i64,
        matched: u32::try_from(pairs.len()).unwrap_or(u32::MAX),
    })
}

/// Returns the pairs whose difference lies within three robust standard deviations
/// of `expected(onset)`, or all pairs when fewer than [`MIN_MATCHES`] would remain.
fn without_outliers(pairs: &[(f64, f64)], expected: impl Fn(f64) -> f64) -> Vec<(f64, f64)> {
    let residuals: Vec<f64> = pairs
        .iter()
        .map(|&(onset, difference)| (difference - expected(onset)).abs())
        .collect();
    // 1.4826 × the median absolute residual estimates the standard deviation of
    // normally distributed residuals.
    let threshold = (3.0 * 1.4826 * median(residuals.clone())).max(MIN_OUTLIER_MS);
    let kept: Vec<(f64, f64)> = pairs
        .iter()
        .zip(&residuals)
        .filter(|(_, residual)| **residual <= threshold)
        .map(|(pair, _)| *pair)
        .collect();
    if kept.len() >= MIN_MATCHES { kept } else { pairs.to_vec() }
}

/// Converts an event time to recording time under `alignment` (identity for `None`).
pub(crate) fn to_recording_ms(alignment: Option<&Alignment>, event_ms: i64) -> i64 {
    let Some(alignment) = alignment else {
        return event_ms;
    };
    let slope = alignment.drift_ms_per_minute / 60_000.0;
    ((event_ms - alignment.offset_ms) as f64 / (1.0 + slope)).round() as i64
}

/// Returns the centre of the most populated difference bin, preferring the bin
/// nearest zero on a tie.
fn coarse_offset(anchors: &[Anchor<'_>]) -> Option<i64> {
    let bins = (2 * SEARCH_MS / BIN_MS + 1) as usize;
    let mut counts = vec![0u32; bins];
    for anchor in anchors {
        let from = anchor.onsets.partition_point(|&onset| onset < anchor.event_ms - SEARCH_MS);
        let to = anchor.onsets.partition_point(|&onset| onset <= anchor.event_ms + SEARCH_MS);
        for &onset in &anchor.onsets[from..to] {
            let difference = anchor.event_ms - onset;
            let bin = ((difference + SEARCH_MS + BIN_MS / 2) / BIN_MS) as usize;
            if let Some(count) = counts.get_mut(bin) {
                *count += 1;
            }
        }
    }

    let centre = bins / 2;
    let (best, &count) = counts
        .iter()
        .enumerate()
        .max_by_key(|&(bin, &count)| (count, std::cmp::Reverse(bin.abs_diff(centre))))?;
    (count > 0).then(|| best as i64 * BIN_MS - SEARCH_MS)
}

fn nearest(sorted: &[i64], target: i64) -> Option<i64> {
    let at = sorted.partition_point(|&value| value < target);
    let after = sorted.get(at).copied();
    let before = at.checked_sub(1).map(|index| sorted[index]);
    match (before, after) {
        (Some(before), Some(after)) => Some(if target - before <= after - target {
            before
        } else {
            after
        }),
        (before, after) => before.or(after),
    }
}

/// Least-squares line `difference = offset + slope × onset`; the slope is 0 when the
/// onsets span less than [`MIN_DRIFT_SPAN_MS`].
fn line(pairs: &[(f64, f64)]) -> (f64, f64) {
    let count = pairs.len() as f64;
    let mean_x = pairs.iter().map(|pair| pair.0).sum::<f64>() / count;
    let mean_y = pairs.iter().map(|pair| pair.1).sum::<f64>() / count;

    let first = pairs.iter().map(|pair| pair.0).fold(f64::INFINITY, f64::min);
    let last = pairs.iter().map(|pair| pair.0).fold(f64::NEG_INFINITY, f64::max);
    if last - first < MIN_DRIFT_SPAN_MS as f64 {
        return (mean_y, 0.0);
    }

    let covariance: f64 = pairs.iter().map(|(x, y)| (x - mean_x) * (y - mean_y)).sum();
    let variance: f64 = pairs.iter().map(|(x, _)| (x - mean_x) * (x - mean_x)).sum();
    let slope = covariance / variance;
    (mean_y - slope * mean_x, slope)
}

fn median(mut values: Vec<f64>) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anchors<'a>(events: &[i64], onsets: &'a [i64]) -> Vec<Anchor<'a>> {
        events
            .iter()
            .map(|&event_ms| Anchor { event_ms, onsets })
            .collect()
    }

    #[test]
    fn constant_offset_is_found() {
        let onsets = [1_000, 5_000, 9_000, 14_000, 20_000];
        let events: Vec<i64> = onsets.iter().map(|onset| onset + 400).collect();
        let alignment = fit(&anchors(&events, &onsets)).expect("alignment");
        assert_eq!(alignment.offset_ms, 400);
        assert_eq!(alignment.matched, 5);
        assert_eq!(alignment.max_difference_ms, 400);
    }

    #[test]
    fn outlier_start_is_dropped() {
        let onsets = [1_000, 5_000, 9_000, 14_000, 20_000];
        let events = [1_010, 5_000, 9_190, 13_990, 20_000];
        let alignment = fit(&anchors(&events, &onsets)).expect("alignment");
        assert_eq!(alignment.matched, 4);
        assert!(alignment.offset_ms.abs() <= 10, "{alignment:?}");
    }

    #[test]
    fn drift_over_ten_minutes() {
        // The event clock gains 100 ms per minute.
        let onsets: Vec<i64> = (0..20).map(|i| i * 30_000 + 700).collect();
        let events: Vec<i64> = onsets.iter().map(|&t| t + 50 + t / 600).collect();
        let alignment = fit(&anchors(&events, &onsets)).expect("alignment");
        assert!(
            (alignment.drift_ms_per_minute - 100.0).abs() < 1.0,
            "{alignment:?}"
        );
        assert!((alignment.offset_ms - 50).abs() <= 2, "{alignment:?}");
    }

    #[test]
    fn too_few_matches_give_none() {
        assert!(fit(&anchors(&[1_000, 2_000], &[1_000, 2_000])).is_none());
    }

    #[test]
    fn recording_time_inverts_offset() {
        let alignment = Alignment {
            offset_ms: 400,
            drift_ms_per_minute: 0.0,
            max_difference_ms: 400,
            matched: 5,
        };
        assert_eq!(to_recording_ms(Some(&alignment), 1_400), 1_000);
    }
}
