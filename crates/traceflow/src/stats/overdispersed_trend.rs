//! The trend test `auto` judges by: Cochran–Armitage, corrected for
//! overdispersion only when the runs show it.

use super::dispersion::{successive_dispersion, trend_inflation_per_rho, Dispersion};
use super::intervals::two_sided_z;
use super::step_change::best_split;
use super::student::{t_cdf, t_quantile};
use super::{cochran_armitage, CochranArmitage, Undefined};

/// Level of the overdispersion pre-test: below it, the runs' variance is
/// taken as binomial (φ = 1).
pub const DISPERSION_LEVEL: f64 = 0.05;

/// Cochran–Armitage with the dispersion `auto` uses.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendTest {
    /// The test, its `dispersion`, z, p-value, slope SE and interval set as
    /// below.
    pub test: CochranArmitage,
    /// The successive-difference estimate, if defined.
    pub dispersion: Option<Dispersion>,
    /// Degrees of freedom of the t reference when φ was estimated.
    pub df: Option<f64>,
}

/// Cochran–Armitage over runs at scores 0, 1, 2, … with φ = 1 unless the
/// differences of neighbouring runs ([`successive_dispersion`], leaving out
/// the pair across the most likely step) reject
/// binomial variation at [`DISPERSION_LEVEL`]; then φ = 1 + ρ̂R is the
/// inflation of the test's variance under the estimated intra-run
/// correlation ([`trend_inflation_per_rho`]), which weighs large runs (whose
/// inflation 1 + (k − 1)ρ is largest) as the test does.
/// With φ estimated, z = z₁/√φ is referred to Student's t with the
/// estimate's ν degrees of freedom (the quasi-likelihood rule, McCullagh &
/// Nelder §4.5), not the normal: an estimated variance widens the tails.
///
/// Why not [`cochran_armitage()`]'s own φ = max(1, X²/(n − 2)): the residuals
/// of a straight line count a step (the commonest decline) as noise, and
/// max(1, ·) raises φ above 1 in 44–52% of binomial histories (measured at
/// p = 0.8 over 10–100 runs of 3 or 20 decisions), together costing up to
/// 30 points of power against an oracle that knows φ.
pub fn trend_test(
    passes: &[u64],
    decisions: &[u64],
    confidence: f64,
) -> Result<TrendTest, Undefined> {
    let scores: Vec<f64> = (0..passes.len()).map(|i| i as f64).collect();
    let ca = cochran_armitage(passes, decisions, &scores, confidence)?;
    let dispersion = successive_dispersion(passes, decisions, best_split(passes, decisions)).ok();
    let z_plain = ca.z * ca.dispersion.sqrt();
    let (phi, df) = choose(dispersion, trend_inflation_per_rho(decisions));
    let (z, p) = p_decline(z_plain, phi, df);
    let q = quantile(df, confidence);
    let slope_se = ca.slope_se / ca.dispersion.sqrt() * phi.sqrt();
    Ok(TrendTest {
        test: CochranArmitage {
            z,
            p_decline: p,
            slope: ca.slope,
            slope_se,
            slope_ci: (ca.slope - q * slope_se, ca.slope + q * slope_se),
            dispersion: phi,
            predicted_change: ca.predicted_change,
        },
        dispersion,
        df,
    })
}

/// φ and the t degrees of freedom (None: normal) from the pre-test;
/// `per_rho` is the runs' R of [`trend_inflation_per_rho`]. With ρ̂ > 0,
/// φ = 1 + ρ̂R estimated with Var(φ) = R²Var(ρ̂), so ν = 2φ²/Var(φ)
/// (Satterthwaite).
pub(crate) fn choose(dispersion: Option<Dispersion>, per_rho: f64) -> (f64, Option<f64>) {
    match dispersion {
        Some(d) if d.p_value < DISPERSION_LEVEL && d.rho > 0.0 => {
            let phi = 1.0 + d.rho * per_rho;
            let variance = per_rho * per_rho * d.rho_variance;
            let df = if variance > 0.0 {
                (2.0 * phi * phi / variance).max(1.0)
            } else {
                f64::INFINITY
            };
            (phi, df.is_finite().then_some(df))
        }
        _ => (1.0, None),
    }
}

/// z and its one-sided p-value for a decline, for the plain z₁ and φ: the
/// normal, or Student's t with `df` when φ was estimated.
/// A NaN z (no such data reaches here) has p-value 1: no evidence.
pub(crate) fn p_decline(z_plain: f64, phi: f64, df: Option<f64>) -> (f64, f64) {
    let z = z_plain / phi.sqrt();
    let p = t_cdf(z, df.unwrap_or(f64::INFINITY))
        .or_else(|| t_cdf(z, f64::INFINITY))
        .unwrap_or(1.0);
    (z, p)
}

/// The two-sided quantile at `confidence` of the same reference.
pub(crate) fn quantile(df: Option<f64>, confidence: f64) -> f64 {
    match df.and_then(|df| t_quantile(0.5 + confidence / 2.0, df)) {
        Some(q) => q,
        None => two_sided_z(confidence),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_runs_keep_the_plain_test() {
        let passes = [19, 18, 19, 17, 18, 16, 17, 15, 16, 15];
        let t = trend_test(&passes, &[20; 10], 0.95).unwrap();
        let scores: Vec<f64> = (0..10).map(f64::from).collect();
        let plain = cochran_armitage(&passes, &[20; 10], &scores, 0.95).unwrap();
        assert_eq!(t.df, None);
        assert_eq!(t.test.dispersion, 1.0);
        // z by hand: U / √(p̄(1 − p̄)·Σk(t − t̄)²), t̄ = 4.5, N = 200.
        let passed: f64 = passes.iter().map(|&x| x as f64).sum();
        let p = passed / 200.0;
        let u: f64 = passes
            .iter()
            .zip(&scores)
            .map(|(&x, &t)| x as f64 * (t - 4.5))
            .sum();
        let s_tt: f64 = scores.iter().map(|t| 20.0 * (t - 4.5).powi(2)).sum();
        let z_by_hand = u / (p * (1.0 - p) * s_tt).sqrt();
        assert!(
            (t.test.z - z_by_hand).abs() < 1e-12,
            "{} {z_by_hand}",
            t.test.z
        );
        assert!((t.test.predicted_change - plain.predicted_change).abs() < 1e-15);
    }

    #[test]
    fn a_step_is_not_mistaken_for_noise() {
        let passes = [19, 19, 20, 19, 19, 9, 10, 9, 10, 9];
        let t = trend_test(&passes, &[20; 10], 0.95).unwrap();
        assert_eq!(t.test.dispersion, 1.0, "{t:?}");
        let scores: Vec<f64> = (0..10).map(f64::from).collect();
        // The line's residuals call it overdispersed.
        let line = cochran_armitage(&passes, &[20; 10], &scores, 0.95).unwrap();
        assert!(line.dispersion > 1.5, "{line:?}");
        assert!(t.test.p_decline < line.p_decline);
    }

    #[test]
    fn overdispersed_runs_use_t() {
        let passes = [20, 6, 19, 4, 20, 5, 17, 3, 16, 2];
        let t = trend_test(&passes, &[20; 10], 0.95).unwrap();
        let d = t.dispersion.unwrap();
        // Equal runs of 20: φ = 1 + 19ρ̂ (ρ̂ here at its bound, 1).
        assert!(t.df.is_some(), "{t:?}");
        assert!(
            (t.test.dispersion - (1.0 + 19.0 * d.rho)).abs() < 1e-9,
            "{t:?}"
        );
        assert!(t.test.p_decline > 0.05, "{t:?}");
    }
}
