//! What the data at hand can detect.

use super::student::t_quantile;
use super::{Spread, Undefined};

/// Power the minimum detectable effect is computed for.
pub const POWER: f64 = 0.8;

/// The smallest decline in pass rate across the window (from the first run
/// to the last, on the fitted line) that the one-sided Cochran–Armitage
/// test at level `alpha` detects with probability [`POWER`], for runs of
/// `decisions[i]` decisions at scores `scores[i]`, a pass rate near
/// `pass_rate` and dispersion `dispersion` (φ ≥ 1).
///
/// The test rejects when b̂/SE(b̂) < −z₁₋α with SE = √(φ p(1 − p)/Sₜₜ),
/// Sₜₜ = Σkᵢ(tᵢ − t̄)²; a true slope −b is caught with power 1 − β when
/// b/SE = z₁₋α + z₁₋β, so the decline across the span T of the scores is
/// δ = (z₁₋α + z₁₋β)·√(φ p(1 − p)/Sₜₜ)·T (the normal approximation of
/// Nam, "A simple approximation for calculating sample sizes for detecting
/// linear trend in proportions", Biometrics 43 (1987) 701–705, with the
/// variance at the null). The rate p is the observed one moved δ/2 away
/// from 0 and 1, since a decline of δ around an observed 100% has rates
/// down to 1 − δ; δ is solved by iteration.
///
/// With `df`, the test refers z to Student's t with those degrees of
/// freedom (an estimated dispersion), and so do the quantiles here.
///
/// Undefined without decisions on two distinct scores, for a non-finite
/// score, rate or dispersion, or scores so far apart that the spread or
/// the drop is past the largest float.
pub fn min_detectable_drop(
    decisions: &[u64],
    scores: &[f64],
    pass_rate: f64,
    dispersion: f64,
    alpha: f64,
    df: Option<f64>,
) -> Result<f64, Undefined> {
    if decisions.len() != scores.len() {
        return Err(Undefined::LengthsDiffer);
    }
    if !(pass_rate.is_finite() && dispersion.is_finite() && alpha > 0.0 && alpha < 1.0)
        || scores.iter().any(|t| !t.is_finite())
    {
        return Err(Undefined::NotFinite);
    }
    if decisions.iter().all(|&k| k == 0) {
        return Err(Undefined::NoData);
    }
    let Spread { s_tt, span, .. } =
        Spread::of(decisions.iter().copied().zip(scores.iter().copied()));
    if s_tt.is_nan() || s_tt <= 0.0 {
        return Err(Undefined::NoSpread);
    }
    if !(s_tt.is_finite() && span.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    // The normal without degrees of freedom (or with unusable ones).
    let df = df.filter(|df| *df > 0.0).unwrap_or(f64::INFINITY);
    let quantile = |q: f64| t_quantile(q, df).unwrap_or(f64::NAN);
    let factor =
        (quantile(1.0 - alpha) + quantile(POWER)) * (dispersion.max(1.0) / s_tt).sqrt() * span;
    if !factor.is_finite() {
        return Err(Undefined::NotFinite);
    }
    // δ(p) = factor·√(p(1 − p)) is at most factor/2; start there and move p
    // off the boundary by δ/2 until δ settles.
    let mut drop = factor / 2.0;
    for _ in 0..50 {
        let half = (drop / 2.0).min(0.5);
        let p = pass_rate.clamp(half, 1.0 - half);
        let next = factor * (p * (1.0 - p)).sqrt();
        if (next - drop).abs() < 1e-12 {
            drop = next;
            break;
        }
        drop = next;
    }
    Ok(drop)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn runs(n: usize) -> Vec<f64> {
        (0..n).map(|i| i as f64).collect()
    }

    #[test]
    fn more_decisions_detect_smaller_declines() {
        let few = min_detectable_drop(&[3; 20], &runs(20), 0.8, 1.0, 0.01, None).unwrap();
        let many = min_detectable_drop(&[50; 20], &runs(20), 0.8, 1.0, 0.01, None).unwrap();
        // 60 decisions cannot see a 15-point ramp; 1,000 can.
        assert!(few > 0.3, "{few}");
        assert!(many < 0.15, "{many}");
        // The standard error shrinks as 1/√k: the ratio is √(50/3) (at
        // p = 0.5, which no decline moves off the boundary).
        let few = min_detectable_drop(&[3; 20], &runs(20), 0.5, 1.0, 0.01, None).unwrap();
        let many_half = min_detectable_drop(&[50; 20], &runs(20), 0.5, 1.0, 0.01, None).unwrap();
        assert!((few / many_half - (50.0f64 / 3.0).sqrt()).abs() < 1e-9);
        let dispersed = min_detectable_drop(&[50; 20], &runs(20), 0.8, 4.0, 0.01, None).unwrap();
        assert!((dispersed / many - 2.0).abs() < 1e-9);
    }

    #[test]
    fn an_estimated_dispersion_widens_it_further() {
        let known = min_detectable_drop(&[50; 20], &runs(20), 0.8, 4.0, 0.01, None).unwrap();
        let estimated =
            min_detectable_drop(&[50; 20], &runs(20), 0.8, 4.0, 0.01, Some(8.0)).unwrap();
        // (t₈ quantiles 2.896 + 0.889) / (normal 2.326 + 0.842) ≈ 1.195.
        let ratio = estimated / known;
        assert!(ratio > 1.15 && ratio < 1.25, "{known} {estimated}");
    }

    #[test]
    fn a_perfect_record_still_has_a_detectable_drop() {
        let drop = min_detectable_drop(&[3; 20], &runs(20), 1.0, 1.0, 0.01, None).unwrap();
        assert!(drop > 0.1 && drop < 1.0, "{drop}");
    }

    #[test]
    fn no_spread_is_undefined() {
        assert_eq!(
            min_detectable_drop(&[3, 0], &[0.0, 1.0], 0.5, 1.0, 0.01, None),
            Err(Undefined::NoSpread)
        );
        assert_eq!(
            min_detectable_drop(&[0, 0], &[0.0, 1.0], 0.5, 1.0, 0.01, None),
            Err(Undefined::NoData)
        );
    }
}
