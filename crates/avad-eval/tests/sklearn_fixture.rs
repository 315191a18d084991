//! avad-eval against scikit-learn 1.7 (fixtures/make_sklearn_fixture.py wrote the
//! reference numbers into fixtures/sklearn_metrics.json).

use avad_eval::metrics::{confusion, eer, roc_auc_score, roc_curve, Confusion, MetricsError};
use avad_eval::normalize::min_max_per_video;
use serde::Deserialize;

const TOL: f64 = 1e-12;

#[derive(Deserialize)]
struct Fixture {
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    scores: Vec<f64>,
    labels: Vec<bool>,
    confusion: Vec<ConfusionCase>,
    roc: Option<RocCase>,
    auc: Option<f64>,
    eer: Option<f64>,
    eer_brentq: Option<f64>,
    raw_per_video: Option<Vec<Vec<f64>>>,
    raw_auc: Option<f64>,
}

#[derive(Deserialize)]
struct ConfusionCase {
    threshold: f64,
    tp: u64,
    fp: u64,
    tn: u64,
    #[serde(rename = "fn")]
    fn_: u64,
    precision: f64,
    recall: f64,
    accuracy: f64,
    f1: f64,
}

#[derive(Deserialize)]
struct RocCase {
    fpr: Vec<f64>,
    tpr: Vec<f64>,
    /// null stands for +inf (JSON has no infinity).
    thresholds: Vec<Option<f64>>,
}

fn load() -> Fixture {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/sklearn_metrics.json");
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn assert_close(case: &str, what: &str, got: f64, want: f64) {
    assert!(
        (got - want).abs() <= TOL,
        "{case}: {what}: got {got}, sklearn {want}"
    );
}

fn assert_all_close(case: &str, what: &str, got: &[f64], want: &[f64]) {
    assert_eq!(got.len(), want.len(), "{case}: {what}: length");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert_close(case, &format!("{what}[{i}]"), *g, *w);
    }
}

#[test]
fn fixture_covers_the_promised_cases() {
    let names: Vec<String> = load().cases.into_iter().map(|c| c.name).collect();
    for want in [
        "random",
        "heavy_ties",
        "separated",
        "inverted",
        "all_equal",
        "tiny",
        "one_class",
        "ped2_min_max",
    ] {
        assert!(
            names.iter().any(|n| n == want),
            "missing case {want}: {names:?}"
        );
    }
}

#[test]
fn confusion_metrics_match_sklearn() {
    for case in load().cases {
        for c in &case.confusion {
            let got = confusion(&case.scores, &case.labels, c.threshold).unwrap();
            let what = format!("threshold {}", c.threshold);
            assert_eq!(
                got,
                Confusion {
                    tp: c.tp,
                    fp: c.fp,
                    tn: c.tn,
                    fn_: c.fn_
                },
                "{}: {what}",
                case.name
            );
            assert_close(
                &case.name,
                &format!("{what} precision"),
                got.precision(),
                c.precision,
            );
            assert_close(
                &case.name,
                &format!("{what} recall"),
                got.recall(),
                c.recall,
            );
            assert_close(
                &case.name,
                &format!("{what} accuracy"),
                got.accuracy(),
                c.accuracy,
            );
            assert_close(&case.name, &format!("{what} f1"), got.f1(), c.f1);
        }
    }
}

#[test]
fn roc_curve_auc_and_eer_match_sklearn() {
    let mut checked = 0;
    for case in load().cases {
        let n = &case.name;
        let Some(want) = &case.roc else {
            assert!(
                matches!(
                    roc_curve(&case.scores, &case.labels),
                    Err(MetricsError::OneClass { .. })
                ),
                "{n}"
            );
            continue;
        };
        let roc = roc_curve(&case.scores, &case.labels).unwrap();
        assert_all_close(n, "fpr", &roc.fpr, &want.fpr);
        assert_all_close(n, "tpr", &roc.tpr, &want.tpr);
        let want_thresholds: Vec<f64> = want
            .thresholds
            .iter()
            .map(|t| t.unwrap_or(f64::INFINITY))
            .collect();
        assert_eq!(roc.thresholds[0], f64::INFINITY, "{n}");
        assert_all_close(n, "thresholds", &roc.thresholds[1..], &want_thresholds[1..]);

        let auc = roc_auc_score(&case.scores, &case.labels).unwrap();
        assert_close(n, "auc", auc, case.auc.unwrap());
        assert_close(n, "eer", eer(&roc), case.eer.unwrap());
        // scipy's brentq stops within xtol = 2e-12 of the root.
        let brentq = case.eer_brentq.unwrap();
        assert!(
            (eer(&roc) - brentq).abs() < 1e-9,
            "{n}: eer {} vs brentq {brentq}",
            eer(&roc)
        );
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} cases had a ROC");
}

/// DESIGN.md: perfectly separating scores lose AUC 1 under per-video min-max on Ped2,
/// because Test008-Test011 are anomalous throughout.
#[test]
fn ped2_per_video_min_max_matches_sklearn() {
    let case = load()
        .cases
        .into_iter()
        .find(|c| c.name == "ped2_min_max")
        .unwrap();
    let raw = case.raw_per_video.as_ref().unwrap();
    assert_eq!(raw.len(), 12);
    let raw_flat: Vec<f64> = raw.concat();
    assert_close(
        "ped2",
        "raw auc",
        roc_auc_score(&raw_flat, &case.labels).unwrap(),
        case.raw_auc.unwrap(),
    );
    assert_eq!(case.raw_auc, Some(1.0));

    let normalized: Vec<f64> = raw.iter().flat_map(|v| min_max_per_video(v)).collect();
    assert_all_close("ped2", "min-max scores", &normalized, &case.scores);
    let auc = roc_auc_score(&normalized, &case.labels).unwrap();
    assert_close("ped2", "auc", auc, case.auc.unwrap());
    assert!(
        auc < 0.95,
        "per-video min-max should cost AUC here, got {auc}"
    );
}

/// AUC is the Mann–Whitney probability with ties counted 1/2 (checked by brute force).
#[test]
fn auc_equals_mann_whitney_probability() {
    for case in load().cases.into_iter().filter(|c| c.roc.is_some()) {
        let pos: Vec<f64> = case
            .scores
            .iter()
            .zip(&case.labels)
            .filter(|(_, &l)| l)
            .map(|(&s, _)| s)
            .collect();
        let neg: Vec<f64> = case
            .scores
            .iter()
            .zip(&case.labels)
            .filter(|(_, &l)| !l)
            .map(|(&s, _)| s)
            .collect();
        let mut wins = 0.0;
        for p in &pos {
            for q in &neg {
                wins += if p > q {
                    1.0
                } else if p == q {
                    0.5
                } else {
                    0.0
                };
            }
        }
        let mw = wins / (pos.len() * neg.len()) as f64;
        let auc = roc_auc_score(&case.scores, &case.labels).unwrap();
        assert!(
            (auc - mw).abs() < 1e-12,
            "{}: auc {auc} vs Mann-Whitney {mw}",
            case.name
        );
    }
}
