//! Agreement between annotators on one label: Cohen's kappa for two annotators,
//! Krippendorff's alpha for any number, and the observed agreement.
//!
//! Alpha is `1 - D_o / D_e`, computed from the coincidence matrix as R's
//! `irr::kripp.alpha` and `statsmodels.stats.inter_rater.krippendorff_alpha` compute
//! it. The observed disagreement `D_o` averages the difference `delta` over all pairs
//! of values that different annotators gave one item, weighting an item with `m`
//! values by `1 / (m - 1)`. The expected disagreement `D_e` averages `delta` over all
//! pairs of those values regardless of item. Items with fewer than two values are
//! left out, so missing values need no imputation.
//!
//! Undefined results are `None`:
//! - alpha when no item has two values, or when every value is the same, because
//!   `D_e = 0` then and there is no variation to agree on;
//! - kappa unless exactly two annotators rated, when they share no item, or when the
//!   expected agreement is 1 (both gave one and the same value throughout);
//! - the observed agreement when no item has two values.

use std::collections::BTreeMap;

/// One annotator's value for one item and one label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rating {
    pub item: String,
    pub annotator: String,
    /// The value as text; at the interval level it must parse as a number.
    pub value: String,
}

/// Level of measurement, which sets how values compare. `Nominal` values agree only
/// when equal (`delta` is 0 or 1). `Interval` values are numbers and disagree by their
/// squared difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MeasurementLevel {
    Nominal,
    Interval,
}

/// Agreement on one label.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Distinct annotators among the ratings.
    pub annotators: u32,
    /// Items rated by at least two annotators.
    pub items: u32,
    pub cohen_kappa: Option<f64>,
    pub krippendorff_alpha: Option<f64>,
    /// Share of pairs of values on one item that are equal, weighted as alpha weighs
    /// them. With two annotators it is the share of shared items they rated alike.
    pub observed_agreement: Option<f64>,
}

/// Error returned when agreement cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AgreementError {
    #[error(
        "rating of item \"{item}\" by \"{annotator}\": value \"{value}\" is not a finite number, \
         which the interval level needs; use the nominal level for labels that are not numeric"
    )]
    NotANumber {
        item: String,
        annotator: String,
        value: String,
    },
}

/// One value as compared: a key that is equal for agreeing values, and the number at
/// the interval level.
#[derive(Debug, Clone, PartialEq)]
struct Value {
    key: String,
    number: f64,
}

/// Computes agreement on one label. When an annotator rated an item more than once,
/// the last rating counts. Cohen's kappa treats values as categories at either level.
pub fn compute_agreement(
    ratings: &[Rating],
    level: MeasurementLevel,
) -> Result<Agreement, AgreementError> {
    let mut by_item: BTreeMap<&str, BTreeMap<&str, Value>> = BTreeMap::new();
    for rating in ratings {
        let value = parse_value(rating, level)?;
        by_item
            .entry(&rating.item)
            .or_default()
            .insert(&rating.annotator, value);
    }

    let mut annotators: Vec<&str> = ratings
        .iter()
        .map(|rating| rating.annotator.as_str())
        .collect();
    annotators.sort_unstable();
    annotators.dedup();

    let units: Vec<Vec<&Value>> = by_item
        .values()
        .filter(|values| values.len() >= 2)
        .map(|values| values.values().collect())
        .collect();

    let cohen_kappa = if annotators.len() == 2 {
        cohen_kappa(&by_item, annotators[0], annotators[1])
    } else {
        None
    };
    let (krippendorff_alpha, observed_agreement) = alpha_and_observed(&units, level);

    Ok(Agreement {
        annotators: count(annotators.len()),
        items: count(units.len()),
        cohen_kappa,
        krippendorff_alpha,
        observed_agreement,
    })
}

fn parse_value(rating: &Rating, level: MeasurementLevel) -> Result<Value, AgreementError> {
    match level {
        MeasurementLevel::Nominal => Ok(Value {
            key: rating.value.clone(),
            number: f64::NAN,
        }),
        MeasurementLevel::Interval => {
            let number = rating
                .value
                .trim()
                .parse::<f64>()
                .ok()
                .filter(|number| number.is_finite())
                .ok_or_else(|| AgreementError::NotANumber {
                    item: rating.item.clone(),
                    annotator: rating.annotator.clone(),
                    value: rating.value.clone(),
                })?;
            // `+ 0.0` turns -0 into 0, so that both have the key "0".
            let number = number + 0.0;
            Ok(Value {
                key: number.to_string(),
                number,
            })
        }
    }
}

/// Returns Krippendorff's alpha and the observed agreement over `units`, the values of
/// each item that has at least two.
fn alpha_and_observed(
    units: &[Vec<&Value>],
    level: MeasurementLevel,
) -> (Option<f64>, Option<f64>) {
    let pairable: usize = units.iter().map(Vec::len).sum();
    if pairable < 2 {
        return (None, None);
    }
    let n = pairable as f64;

    // Sums over the coincidence matrix, item by item: each ordered pair of values from
    // different annotators adds 1 / (m - 1).
    let mut observed_difference = 0.0;
    let mut observed_equal = 0.0;
    for values in units {
        let weight = 1.0 / (values.len() - 1) as f64;
        for (i, left) in values.iter().enumerate() {
            for (j, right) in values.iter().enumerate() {
                if i != j {
                    observed_difference += weight * delta(left, right, level);
                    if left.key == right.key {
                        observed_equal += weight;
                    }
                }
            }
        }
    }
    let observed_disagreement = observed_difference / n;
    let observed_agreement = observed_equal / n;

    let all_values: Vec<&Value> = units.iter().flatten().copied().collect();
    let expected_disagreement = expected_disagreement(&all_values, level);
    let alpha =
        (expected_disagreement > 0.0).then(|| 1.0 - observed_disagreement / expected_disagreement);

    (alpha, Some(observed_agreement))
}

/// Returns `D_e`: the mean difference over all ordered pairs of distinct pairable
/// values, `sum over c, k of n_c * n_k * delta(c, k) / (n * (n - 1))`, in closed form.
fn expected_disagreement(values: &[&Value], level: MeasurementLevel) -> f64 {
    let n = values.len() as f64;
    match level {
        // Pairs with different values: n^2 minus the pairs within each value.
        MeasurementLevel::Nominal => {
            let mut counts: BTreeMap<&str, f64> = BTreeMap::new();
            for value in values {
                *counts.entry(&value.key).or_default() += 1.0;
            }
            let same: f64 = counts.values().map(|count| count * count).sum();
            (n * n - same) / (n * (n - 1.0))
        }
        // The sum of squared differences over all ordered pairs is 2n times the sum of
        // squared deviations from the mean.
        MeasurementLevel::Interval => {
            let mean = values.iter().map(|value| value.number).sum::<f64>() / n;
            let squares: f64 = values
                .iter()
                .map(|value| (value.number - mean).powi(2))
                .sum();
            2.0 * n * squares / (n * (n - 1.0))
        }
    }
}

fn delta(left: &Value, right: &Value, level: MeasurementLevel) -> f64 {
    match level {
        MeasurementLevel::Nominal => {
            if left.key == right.key {
                0.0
            } else {
                1.0
            }
        }
        MeasurementLevel::Interval => (left.number - right.number).powi(2),
    }
}

/// Returns Cohen's kappa of annotators `first` and `second` over the items both rated:
/// `(p_o - p_e) / (1 - p_e)`, where `p_o` is the share of items they rated alike and
/// `p_e` the sum over values of the product of each annotator's share of that value.
fn cohen_kappa(
    by_item: &BTreeMap<&str, BTreeMap<&str, Value>>,
    first: &str,
    second: &str,
) -> Option<f64> {
    let pairs: Vec<(&Value, &Value)> = by_item
        .values()
        .filter_map(|values| Some((values.get(first)?, values.get(second)?)))
        .collect();
    if pairs.is_empty() {
        return None;
    }
    let total = pairs.len() as f64;

    let agreeing = pairs
        .iter()
        .filter(|(left, right)| left.key == right.key)
        .count() as f64;
    let observed = agreeing / total;

    let mut first_counts: BTreeMap<&str, f64> = BTreeMap::new();
    let mut second_counts: BTreeMap<&str, f64> = BTreeMap::new();
    for (left, right) in &pairs {
        *first_counts.entry(&left.key).or_default() += 1.0;
        *second_counts.entry(&right.key).or_default() += 1.0;
    }
    let expected: f64 = first_counts
        .iter()
        .map(|(key, count)| {
            (count / total) * (second_counts.get(key).copied().unwrap_or(0.0) / total)
        })
        .sum();

    (expected < 1.0).then(|| (observed - expected) / (1.0 - expected))
}

fn count(value: usize) -> u32 {
    u32::try_from(value).unwrap_or(u32::MAX)
}
