//! The statistics against scipy, statsmodels and pymannkendall, from JSON
//! written by `tests/fixtures/stats/make_stats_fixtures.py` (no Python here).
//! Tolerances as the project's statistics brief sets them: integers exact,
//! slopes 1e-12, p-values and z 1e-9.

// Test helpers abort on a failed setup step; that is their job.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use serde_json::Value;
use traceflow::stats::{
    cochran_armitage, mann_kendall, newcombe, ols_test, step_change, wilson, Permuted, StepOptions,
    Undefined,
};

fn cases(file: &str) -> Vec<Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/stats")
        .join(file);
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    doc["cases"].as_array().unwrap().clone()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

fn ints(v: &Value) -> Vec<u64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect()
}

#[track_caller]
fn close(name: &str, what: &str, got: f64, want: &Value, tolerance: f64) {
    let want = want
        .as_f64()
        .unwrap_or_else(|| panic!("{name} {what}: {want}"));
    let scale = want.abs().max(1.0);
    assert!(
        (got - want).abs() <= tolerance * scale,
        "{name} {what}: {got} vs {want}"
    );
}

#[test]
fn cochran_armitage_matches_statsmodels() {
    let mut checked = 0;
    for case in cases("cochran_armitage.json") {
        let name = case["name"].as_str().unwrap();
        let result = cochran_armitage(
            &ints(&case["passes"]),
            &ints(&case["decisions"]),
            &floats(&case["scores"]),
            0.95,
        );
        if case["undefined"] == true {
            assert!(result.is_err(), "{name}: {result:?}");
            continue;
        }
        let r = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        // statsmodels' statistic is the uncorrected one: φ = 1.
        close(
            name,
            "z_plain",
            r.z * r.dispersion.sqrt(),
            &case["z_plain"],
            1e-9,
        );
        close(name, "dispersion", r.dispersion, &case["dispersion"], 1e-9);
        close(name, "z", r.z, &case["z"], 1e-9);
        close(name, "p_decline", r.p_decline, &case["p_decline"], 1e-9);
        close(name, "slope", r.slope, &case["slope"], 1e-12);
        close(name, "slope_se", r.slope_se, &case["slope_se"], 1e-12);
        close(name, "ci low", r.slope_ci.0, &case["slope_ci95"][0], 1e-9);
        close(name, "ci high", r.slope_ci.1, &case["slope_ci95"][1], 1e-9);
        close(
            name,
            "predicted",
            r.predicted_change,
            &case["predicted_change"],
            1e-12,
        );
        checked += 1;
    }
    assert!(checked > 50, "{checked} defined cases");
}

#[test]
fn mann_kendall_matches_pymannkendall_and_scipy() {
    for case in cases("mann_kendall.json") {
        let name = case["name"].as_str().unwrap();
        let r = mann_kendall(&floats(&case["y"]), 0.95).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.s, case["s"].as_i64().unwrap(), "{name}");
        close(name, "var_s", r.var_s, &case["var_s"], 1e-12);
        close(name, "z", r.z, &case["z"], 1e-9);
        close(name, "p_decline", r.p_decline, &case["p_decline"], 1e-9);
        close(name, "sen", r.sen_slope, &case["sen_slope"], 1e-12);
        close(name, "theil", r.sen_slope, &case["theil_slope"], 1e-12);
        close(name, "ci low", r.sen_ci.0, &case["sen_ci95"][0], 1e-12);
        close(name, "ci high", r.sen_ci.1, &case["sen_ci95"][1], 1e-12);
    }
}

#[test]
fn ols_matches_scipy_linregress() {
    for case in cases("ols.json") {
        let name = case["name"].as_str().unwrap();
        let y = floats(&case["y"]);
        let x: Vec<f64> = (0..y.len()).map(|i| i as f64).collect();
        let r = ols_test(&x, &y).unwrap_or_else(|e| panic!("{name}: {e}"));
        close(name, "slope", r.slope, &case["slope"], 1e-12);
        close(name, "intercept", r.intercept, &case["intercept"], 1e-12);
        // scipy's NaN (a constant y) is our None.
        for (what, got, tolerance) in [
            ("stderr", r.stderr, 1e-12),
            ("r_squared", r.r_squared, 1e-9),
            ("p_decline", r.p_decline, 1e-9),
        ] {
            match got {
                Some(got) => close(name, what, got, &case[what], tolerance),
                None => assert!(
                    case[what].is_null(),
                    "{name} {what}: None vs {}",
                    case[what]
                ),
            }
        }
    }
}

#[test]
fn undefined_cases_say_why() {
    assert_eq!(
        cochran_armitage(&[0, 0], &[0, 0], &[0.0, 1.0], 0.95),
        Err(Undefined::NoData)
    );
}

#[test]
fn wilson_and_newcombe_match_statsmodels() {
    // statsmodels leaves rounding residue of ~1e-16 at the bounds 0 and 1.
    let near = |name: &str, got: f64, want: &Value| {
        let want = want.as_f64().unwrap();
        assert!((got - want).abs() <= 1e-14, "{name}: {got} vs {want}");
    };
    let mut counted = [0, 0];
    for case in cases("intervals.json") {
        let (lo, hi) = match case["kind"].as_str().unwrap() {
            "wilson" => {
                counted[0] += 1;
                wilson(
                    case["count"].as_u64().unwrap(),
                    case["nobs"].as_u64().unwrap(),
                    0.95,
                )
            }
            _ => {
                counted[1] += 1;
                newcombe(
                    (
                        case["count1"].as_u64().unwrap(),
                        case["nobs1"].as_u64().unwrap(),
                    ),
                    (
                        case["count2"].as_u64().unwrap(),
                        case["nobs2"].as_u64().unwrap(),
                    ),
                    0.95,
                )
            }
        }
        .unwrap_or_else(|| panic!("{case}"));
        near(&format!("{case} lo"), lo, &case["lo"]);
        near(&format!("{case} hi"), hi, &case["hi"]);
    }
    assert!(counted[0] > 30 && counted[1] > 30, "{counted:?}");
}

/// The split scan against an independent numpy implementation: τ̂ exact,
/// Z to 1e-9, the p-value exactly where every arrangement is enumerated
/// (N ≤ 20), else within 4 standard errors of the two Monte Carlo estimates
/// plus one arrangement (the observed one, which B + 1 counts).
#[test]
fn step_change_matches_an_independent_scan() {
    let options = StepOptions {
        permute: Some(Permuted::Decisions),
        ..StepOptions::default()
    };
    let b = options.permutations as f64;
    let mut exact = 0;
    for case in cases("step_change.json") {
        let name = case["name"].as_str().unwrap();
        let result = step_change(&ints(&case["passes"]), &ints(&case["decisions"]), &options);
        if case["undefined"] == true {
            assert!(result.is_err(), "{name}: {result:?}");
            continue;
        }
        let r = result.unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(r.run_index as u64, case["tau"].as_u64().unwrap(), "{name}");
        close(name, "z", r.z, &case["z_max"], 1e-9);
        assert_eq!(
            r.before.passes,
            case["passes_left"].as_u64().unwrap(),
            "{name}"
        );
        assert_eq!(
            r.after.decisions,
            case["decisions_right"].as_u64().unwrap(),
            "{name}"
        );
        if let Some(p) = case["p_exact"].as_f64() {
            assert!(r.exact, "{name}");
            close(name, "exact p", r.p_value, &case["p_exact"], 1e-12);
            assert!((r.p_value - p).abs() <= 1e-12);
            exact += 1;
        } else {
            let p = case["p_reference"].as_f64().unwrap();
            let b_reference = case["b_reference"].as_f64().unwrap();
            let se = (p * (1.0 - p) * (1.0 / b + 1.0 / b_reference)).sqrt();
            let slack = if r.exact { 1e-12 } else { 1.0 / (b + 1.0) };
            assert!(
                (r.p_value - p).abs() <= 4.0 * se + slack,
                "{name}: p {} vs reference {p} (±{})",
                r.p_value,
                4.0 * se + slack
            );
        }
    }
    assert!(exact >= 8, "{exact} exact cases");
}
