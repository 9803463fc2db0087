//! Checks shared by every format for per-turn latency values, and the percentiles
//! callscope computes from the values that pass them.
//!
//! A value that cannot be a real delay is flagged and kept with its original. It is
//! left out of the percentiles, never averaged or clamped.

use callscope_api_types::{
    CallMetric, LatencyPercentiles, MetricValue, Speaker, TimingQuality, TurnMetrics, Utterance,
    metric_flag,
};
use serde_json::{Value, json};

/// Smallest delay, in milliseconds, that is treated as an epoch timestamp put in a
/// delay field. 10^9 ms is 11.6 days, longer than any call, while epoch seconds
/// today are about 1.7 * 10^9 and epoch milliseconds about 1.7 * 10^12.
pub const EPOCH_SIZED_MS: f64 = 1e9;

/// Latency names whose value is the bot's whole response time, in the order they
/// are preferred when a turn carries several.
pub const END_TO_END_NAMES: &[&str] = &["e2e", "turn"];

/// Returns the flag for a delay of `value_ms`, or `None` when it can be real.
pub fn delay_flag(value_ms: f64, call_duration_ms: Option<i64>) -> Option<&'static str> {
    if value_ms < 0.0 {
        Some(metric_flag::NEGATIVE)
    } else if value_ms.abs() >= EPOCH_SIZED_MS {
        Some(metric_flag::EPOCH_SIZED)
    } else if call_duration_ms.is_some_and(|duration| value_ms > duration as f64) {
        Some(metric_flag::LONGER_THAN_CALL)
    } else {
        None
    }
}

/// Builds one checked metric value.
///
/// `value` is the number as the vendor sent it, `scale_to_ms` converts it (1 for
/// milliseconds, 1000 for seconds), `unit` names the original unit.
pub fn metric_value(
    name: &str,
    path: &str,
    value: &Value,
    scale_to_ms: f64,
    unit: &str,
    call_duration_ms: Option<i64>,
) -> MetricValue {
    let original = json!({ "path": path, "value": value, "unit": unit }).to_string();
    let Some(number) = value.as_f64().filter(|number| number.is_finite()) else {
        return MetricValue {
            name: name.to_string(),
            value_ms: None,
            original,
            quality: TimingQuality::Exact,
            flag: None,
        };
    };

    let ms = number * scale_to_ms;
    let flag = delay_flag(ms, call_duration_ms);
    // An epoch-sized value would overflow nothing here, but it is not a delay, so
    // only its original is kept.
    let value_ms = (flag != Some(metric_flag::EPOCH_SIZED)).then(|| ms.round() as i64);
    MetricValue {
        name: name.to_string(),
        value_ms,
        original,
        quality: TimingQuality::Exact,
        flag: flag.map(str::to_string),
    }
}

/// Builds a value measured between two times on the recording, flagged
/// `stop-before-start` when the stop lies before the start.
pub fn span_value(
    name: &str,
    start_ms: i64,
    stop_ms: i64,
    original: Value,
    quality: TimingQuality,
    call_duration_ms: Option<i64>,
) -> MetricValue {
    let value = stop_ms - start_ms;
    let flag = if value < 0 {
        Some(metric_flag::STOP_BEFORE_START)
    } else {
        delay_flag(value as f64, call_duration_ms)
    };
    MetricValue {
        name: name.to_string(),
        value_ms: Some(value),
        original: original.to_string(),
        quality,
        flag: flag.map(str::to_string),
    }
}

/// Flags every value of the interrupted turns as `interrupted`, unless a more
/// basic flag is already set, so that time to first byte of a reply the user cut
/// off stays out of the percentiles.
pub fn flag_interrupted(turns: &mut [TurnMetrics]) {
    for turn in turns.iter_mut().filter(|turn| turn.interrupted) {
        for value in &mut turn.values {
            value
                .flag
                .get_or_insert_with(|| metric_flag::INTERRUPTED.to_string());
        }
    }
}

/// Flags a latency that has the same value on every turn when that value equals one
/// of `defaults_ms`, a configuration default of the vendor: such a number is the
/// setting echoed back, not a measurement. Needs at least two turns to tell.
pub fn flag_configuration_default(turns: &mut [TurnMetrics], name: &str, defaults_ms: &[i64]) {
    let values: Vec<Option<i64>> = turns
        .iter()
        .flat_map(|turn| turn.values.iter())
        .filter(|value| value.name == name)
        .map(|value| value.value_ms)
        .collect();
    let Some(Some(first)) = values.first().copied() else {
        return;
    };
    let identical = values.len() >= 2 && values.iter().all(|value| *value == Some(first));
    if !identical || !defaults_ms.contains(&first) {
        return;
    }

    for value in turns
        .iter_mut()
        .flat_map(|turn| turn.values.iter_mut())
        .filter(|value| value.name == name)
    {
        value
            .flag
            .get_or_insert_with(|| metric_flag::CONFIGURATION_DEFAULT.to_string());
    }
}

/// Returns the indices of the bot utterances that respond to a user: the first bot
/// utterance after each user utterance, skipping system and tool messages.
pub fn response_indices(utterances: &[Utterance]) -> Vec<u32> {
    let mut responses = Vec::new();
    let mut after_user = false;
    for utterance in utterances {
        match utterance.speaker {
            Speaker::User => after_user = true,
            Speaker::Bot if after_user => {
                responses.push(utterance.index);
                after_user = false;
            }
            Speaker::Bot => {}
            Speaker::System | Speaker::Tool => {}
        }
    }
    responses
}

/// Gives each turn without a usable end-to-end value one derived from the
/// transcript: from the end of the user's speech before the response to the start of
/// the bot utterance. When the vendor reported no turns at all, one turn is made per
/// bot response.
///
/// The end-of-user-speech anchor is the user utterance's end when its timing is
/// exact. Otherwise the next best anchor is used and the value marked approximate:
/// the end of the user's last timed word, else the utterance's estimated end.
pub fn fill_missing_e2e(
    turns: &mut Vec<TurnMetrics>,
    utterances: &[Utterance],
    call_duration_ms: Option<i64>,
) {
    if turns.is_empty() {
        for (position, index) in response_indices(utterances).into_iter().enumerate() {
            turns.push(TurnMetrics {
                turn_number: u32::try_from(position).unwrap_or(u32::MAX),
                utterance_index: Some(index),
                interrupted: false,
                values: Vec::new(),
            });
        }
    }

    for turn in turns.iter_mut() {
        if has_latency(turn) {
            continue;
        }
        let Some(bot_index) = turn.utterance_index else {
            continue;
        };
        let Some(bot) = utterances.get(bot_index as usize) else {
            continue;
        };
        let Some(user) = utterances[..bot_index as usize]
            .iter()
            .rev()
            .find(|utterance| utterance.speaker == Speaker::User)
        else {
            continue;
        };

        let (anchor_ms, anchor, mut quality) = if user.timing == TimingQuality::Exact {
            (user.end_ms, "user-utterance-end", TimingQuality::Exact)
        } else if let Some(word) = user.words.last() {
            (word.end_ms, "user-last-word-end", TimingQuality::Approximate)
        } else {
            (user.end_ms, "user-utterance-estimated-end", TimingQuality::Approximate)
        };
        if bot.timing == TimingQuality::Approximate {
            quality = TimingQuality::Approximate;
        }
        let original = json!({
            "derived": "transcript",
            "anchor": anchor,
            "user_utterance": user.index,
            "bot_utterance": bot.index,
        });
        turn.values.push(span_value(
            "e2e",
            anchor_ms,
            bot.start_ms,
            original,
            quality,
            call_duration_ms,
        ));
    }
}

/// Returns whether a turn has an end-to-end value that counts.
pub fn has_latency(turn: &TurnMetrics) -> bool {
    turn.values.iter().any(|value| {
        END_TO_END_NAMES.contains(&value.name.as_str())
            && value.flag.is_none()
            && value.value_ms.is_some()
    })
}

/// Counts the turns without a usable end-to-end value.
pub fn turns_without_latency(turns: &[TurnMetrics]) -> u32 {
    let count = turns.iter().filter(|turn| !has_latency(turn)).count();
    u32::try_from(count).unwrap_or(u32::MAX)
}

/// Computes nearest-rank percentiles per metric name, in order of first appearance,
/// from the values without a flag. Names whose every value is flagged still get an
/// entry with `count` 0, so the exclusion is visible.
pub fn percentiles(turns: &[TurnMetrics]) -> Vec<LatencyPercentiles> {
    let mut names: Vec<&str> = Vec::new();
    for value in turns.iter().flat_map(|turn| turn.values.iter()) {
        if !names.contains(&value.name.as_str()) {
            names.push(&value.name);
        }
    }

    names
        .into_iter()
        .map(|name| {
            let all = turns
                .iter()
                .flat_map(|turn| turn.values.iter())
                .filter(|value| value.name == name);
            let mut kept: Vec<i64> = Vec::new();
            let mut excluded = 0u32;
            for value in all {
                match (value.flag.as_ref(), value.value_ms) {
                    (None, Some(ms)) => kept.push(ms),
                    (Some(_), _) => excluded += 1,
                    (None, None) => {}
                }
            }
            kept.sort_unstable();
            LatencyPercentiles {
                name: name.to_string(),
                p50_ms: nearest_rank(&kept, 50),
                p90_ms: nearest_rank(&kept, 90),
                p95_ms: nearest_rank(&kept, 95),
                p99_ms: nearest_rank(&kept, 99),
                count: u32::try_from(kept.len()).unwrap_or(u32::MAX),
                excluded,
            }
        })
        .collect()
}

/// Returns the nearest-rank percentile, the smallest value with at least `percent`%
/// of the values at or below it, or 0 for an empty list.
fn nearest_rank(sorted: &[i64], percent: usize) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (percent * sorted.len()).div_ceil(100).max(1);
    sorted[rank - 1]
}

/// Builds a call-level metric from a vendor number.
pub fn call_metric(name: &str, path: &str, value: &Value, unit: &str) -> Option<CallMetric> {
    let number = value.as_f64().filter(|number| number.is_finite())?;
    Some(CallMetric {
        name: name.to_string(),
        value: number,
        unit: unit.to_string(),
        original: json!({ "path": path, "value": value }).to_string(),
        flag: None,
    })
}

/// Flags a call-level latency metric (unit `ms`) that cannot be a real delay.
pub fn flag_call_latency(metric: &mut CallMetric, call_duration_ms: Option<i64>) {
    if metric.unit == "ms" {
        metric.flag = delay_flag(metric.value, call_duration_ms).map(str::to_string);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_of_ten_values() {
        let values: Vec<i64> = (1..=10).map(|value| value * 100).collect();
        assert_eq!(nearest_rank(&values, 50), 500);
        assert_eq!(nearest_rank(&values, 90), 900);
        assert_eq!(nearest_rank(&values, 95), 1000);
    }

    #[test]
    fn nearest_rank_of_one_value() {
        assert_eq!(nearest_rank(&[700], 99), 700);
    }

    #[test]
    fn epoch_seconds_delay_is_epoch_sized() {
        assert_eq!(delay_flag(1.715e12, None), Some(metric_flag::EPOCH_SIZED));
    }
}
