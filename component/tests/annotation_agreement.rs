//! Agreement between annotators, checked against values computed by hand. The
//! arithmetic is in each test's comments: `n` is the number of pairable values,
//! `D_o` and `D_e` the observed and expected disagreement, `alpha = 1 - D_o / D_e`.

use callscope_component::annotation::{
    Agreement, AgreementError, MeasurementLevel, Rating, compute_agreement,
};

fn rating(item: &str, annotator: &str, value: &str) -> Rating {
    Rating {
        item: item.into(),
        annotator: annotator.into(),
        value: value.into(),
    }
}

/// Ratings from a table with one row per annotator and one column per item; `None` is
/// a missing value.
fn from_rows(rows: &[(&str, &[Option<u8>])]) -> Vec<Rating> {
    let mut ratings = Vec::new();
    for (annotator, values) in rows {
        for (item, value) in values.iter().enumerate() {
            if let Some(value) = value {
                ratings.push(rating(
                    &format!("unit-{}", item + 1),
                    annotator,
                    &value.to_string(),
                ));
            }
        }
    }
    ratings
}

fn assert_close(actual: Option<f64>, expected: f64) {
    let actual = actual.expect("a value");
    assert!((actual - expected).abs() < 1e-9, "{actual} != {expected}");
}

/// The grant-proposal example of Wikipedia's "Cohen's kappa" article, as reproduced at
/// howcodex.com/statistics/cohen_kappa_coefficient.htm: 50 proposals, readers A and B
/// each say yes or no. Both yes 20, A yes B no 5, A no B yes 10, both no 15.
fn cohen_example() -> Vec<Rating> {
    let cells = [
        ("yes", "yes", 20),
        ("yes", "no", 5),
        ("no", "yes", 10),
        ("no", "no", 15),
    ];
    let mut ratings = Vec::new();
    let mut item = 0;
    for (first, second, count) in cells {
        for _ in 0..count {
            item += 1;
            ratings.push(rating(&format!("proposal-{item}"), "a", first));
            ratings.push(rating(&format!("proposal-{item}"), "b", second));
        }
    }
    ratings
}

#[test]
fn cohen_kappa_textbook_example() {
    // p_o = (20 + 15) / 50 = 0.7.
    // A says yes 25/50 = 0.5, B says yes 30/50 = 0.6.
    // p_e = 0.5 * 0.6 + 0.5 * 0.4 = 0.5.
    // kappa = (0.7 - 0.5) / (1 - 0.5) = 0.4.
    let agreement = compute_agreement(&cohen_example(), MeasurementLevel::Nominal).unwrap();

    assert_close(agreement.cohen_kappa, 0.4);
    assert_close(agreement.observed_agreement, 0.7);
    assert_eq!(agreement.annotators, 2);
    assert_eq!(agreement.items, 50);
}

#[test]
fn alpha_on_cohen_example() {
    // n = 100 values: yes 25 (A) + 30 (B) = 55, no 25 (A) + 20 (B) = 45.
    // Each of the 15 disagreeing items adds two ordered pairs of weight 1 / (2 - 1):
    // D_o = 30 / 100 = 0.3.
    // D_e = (100^2 - 55^2 - 45^2) / (100 * 99) = (10000 - 3025 - 2025) / 9900 = 0.5.
    // alpha = 1 - 0.3 / 0.5 = 0.4.
    let agreement = compute_agreement(&cohen_example(), MeasurementLevel::Nominal).unwrap();

    assert_close(agreement.krippendorff_alpha, 0.4);
}

/// The reliability data of Krippendorff's "Computing Krippendorff's Alpha-Reliability"
/// (2011), whose nominal alpha is 0.743: four observers, twelve units, missing values.
/// The matrix is copied from the example of R's `irr::kripp.alpha` and
/// `DescTools::KrippAlpha` ("the C data from Krippendorff").
fn krippendorff_example() -> Vec<Rating> {
    let n = None;
    from_rows(&[
        (
            "A",
            &[
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(1),
                Some(4),
                Some(1),
                Some(2),
                n,
                n,
                n,
            ],
        ),
        (
            "B",
            &[
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(2),
                Some(4),
                Some(1),
                Some(2),
                Some(5),
                n,
                Some(3),
            ],
        ),
        (
            "C",
            &[
                n,
                Some(3),
                Some(3),
                Some(3),
                Some(2),
                Some(3),
                Some(4),
                Some(2),
                Some(2),
                Some(5),
                Some(1),
                n,
            ],
        ),
        (
            "D",
            &[
                Some(1),
                Some(2),
                Some(3),
                Some(3),
                Some(2),
                Some(4),
                Some(4),
                Some(1),
                Some(2),
                Some(5),
                Some(1),
                n,
            ],
        ),
    ])
}

#[test]
fn alpha_nominal_krippendorff_2011() {
    // Unit 12 has one value and is left out, so n = 40 values in 11 units:
    // value 1: 9, value 2: 13, value 3: 10, value 4: 5, value 5: 3.
    // Disagreeing ordered pairs, each weighted 1 / (m_u - 1):
    //   unit 2 {2,2,3,2}: 6 pairs / 3 = 2
    //   unit 6 {1,2,3,4}: 12 pairs / 3 = 4
    //   unit 8 {1,1,2,1}: 6 pairs / 3 = 2
    // D_o = 8 / 40 = 0.2.
    // D_e = (40^2 - (81 + 169 + 100 + 25 + 9)) / (40 * 39) = 1216 / 1560 = 0.779487...
    // alpha = 1 - 0.2 / 0.779487 = 0.743421..., the published 0.743.
    let agreement = compute_agreement(&krippendorff_example(), MeasurementLevel::Nominal).unwrap();

    assert_close(agreement.krippendorff_alpha, 1.0 - 0.2 / (1216.0 / 1560.0));
    assert_eq!(
        format!("{:.3}", agreement.krippendorff_alpha.unwrap()),
        "0.743"
    );
    assert_close(agreement.observed_agreement, 0.8);
    assert_eq!(agreement.annotators, 4);
    assert_eq!(agreement.items, 11);
    assert_eq!(agreement.cohen_kappa, None);
}

#[test]
fn alpha_interval_krippendorff_2011() {
    // Same 40 values, squared differences:
    //   unit 2: 6 pairs of difference 1, / 3 = 2
    //   unit 6: ordered pairs of {1,2,3,4} sum to 2 * (1 + 4 + 9 + 1 + 4 + 1) = 40, / 3 = 13.333
    //   unit 8: 6 pairs of difference 1, / 3 = 2
    // D_o = 17.333 / 40 = 0.433333.
    // Mean = (9*1 + 13*2 + 10*3 + 5*4 + 3*5) / 40 = 2.5; squared deviations
    // 9*2.25 + 13*0.25 + 10*0.25 + 5*2.25 + 3*6.25 = 56.
    // D_e = 2 * 40 * 56 / (40 * 39) = 112 / 39 = 2.871795.
    // alpha = 1 - 0.433333 / 2.871795 = 0.849107...
    let agreement = compute_agreement(&krippendorff_example(), MeasurementLevel::Interval).unwrap();

    assert_close(
        agreement.krippendorff_alpha,
        1.0 - (52.0 / 3.0 / 40.0) / (112.0 / 39.0),
    );
    assert_eq!(
        format!("{:.3}", agreement.krippendorff_alpha.unwrap()),
        "0.849"
    );
}

#[test]
fn kappa_uses_items_both_rated() {
    // A rated items 1 to 4, B items 3 to 6: only items 3 and 4 are shared.
    // Item 3: yes / yes, item 4: no / yes. p_o = 1/2.
    // A: yes 1/2, no 1/2. B: yes 2/2. p_e = 1/2 * 1 + 1/2 * 0 = 1/2.
    // kappa = (1/2 - 1/2) / (1 - 1/2) = 0.
    let ratings = [
        rating("1", "a", "no"),
        rating("2", "a", "no"),
        rating("3", "a", "yes"),
        rating("4", "a", "no"),
        rating("3", "b", "yes"),
        rating("4", "b", "yes"),
        rating("5", "b", "yes"),
        rating("6", "b", "no"),
    ];

    let agreement = compute_agreement(&ratings, MeasurementLevel::Nominal).unwrap();

    assert_close(agreement.cohen_kappa, 0.0);
    assert_eq!(agreement.items, 2);
    assert_close(agreement.observed_agreement, 0.5);
}

#[test]
fn identical_values_leave_kappa_and_alpha_undefined() {
    // Both always say yes: p_e = 1 and D_e = 0, so neither coefficient is defined,
    // while the observed agreement is complete.
    let ratings = [
        rating("1", "a", "yes"),
        rating("1", "b", "yes"),
        rating("2", "a", "yes"),
        rating("2", "b", "yes"),
    ];

    let agreement = compute_agreement(&ratings, MeasurementLevel::Nominal).unwrap();

    assert_eq!(agreement.cohen_kappa, None);
    assert_eq!(agreement.krippendorff_alpha, None);
    assert_close(agreement.observed_agreement, 1.0);
}

#[test]
fn one_annotator_is_undefined() {
    let ratings = [rating("1", "a", "yes"), rating("2", "a", "no")];

    let agreement = compute_agreement(&ratings, MeasurementLevel::Nominal).unwrap();

    assert_eq!(
        agreement,
        Agreement {
            annotators: 1,
            items: 0,
            cohen_kappa: None,
            krippendorff_alpha: None,
            observed_agreement: None,
        }
    );
}

#[test]
fn no_ratings_is_undefined() {
    let agreement = compute_agreement(&[], MeasurementLevel::Interval).unwrap();

    assert_eq!(agreement.annotators, 0);
    assert_eq!(agreement.krippendorff_alpha, None);
}

#[test]
fn later_rating_replaces_earlier() {
    // B first disagrees on item 1, then changes to agree. The last rating counts, so
    // the two agree on both items. The items take two values, so alpha is 1.
    let ratings = [
        rating("1", "a", "yes"),
        rating("1", "b", "no"),
        rating("2", "a", "no"),
        rating("2", "b", "no"),
        rating("1", "b", "yes"),
    ];

    let agreement = compute_agreement(&ratings, MeasurementLevel::Nominal).unwrap();

    assert_close(agreement.krippendorff_alpha, 1.0);
    assert_close(agreement.cohen_kappa, 1.0);
}

#[test]
fn interval_compares_numbers_not_text() {
    // "1" and "1.0" are the same number, so the annotators agree at the interval
    // level. At the nominal level the texts differ, so they disagree.
    let ratings = [
        rating("1", "a", "1"),
        rating("1", "b", "1.0"),
        rating("2", "a", "3"),
        rating("2", "b", " 3 "),
    ];

    let interval = compute_agreement(&ratings, MeasurementLevel::Interval).unwrap();
    let nominal = compute_agreement(&ratings, MeasurementLevel::Nominal).unwrap();

    assert_close(interval.observed_agreement, 1.0);
    assert_close(interval.krippendorff_alpha, 1.0);
    assert_close(nominal.observed_agreement, 0.0);
}

#[test]
fn interval_rejects_text_value() {
    let ratings = [
        rating("turn-3", "ana", "2"),
        rating("turn-3", "ben", "high"),
    ];

    let error = compute_agreement(&ratings, MeasurementLevel::Interval).unwrap_err();

    assert_eq!(
        error,
        AgreementError::NotANumber {
            item: "turn-3".into(),
            annotator: "ben".into(),
            value: "high".into()
        }
    );
    assert!(
        error.to_string().contains("use the nominal level"),
        "{error}"
    );
}

#[test]
fn interval_rejects_infinity() {
    let ratings = [rating("1", "a", "inf"), rating("1", "b", "2")];

    let error = compute_agreement(&ratings, MeasurementLevel::Interval).unwrap_err();

    assert!(
        matches!(error, AgreementError::NotANumber { .. }),
        "{error:?}"
    );
}
