//! The Cochran–Armitage test for a trend in proportions, with a correction
//! for runs that vary more than binomial noise explains.

use statrs::distribution::{ContinuousCDF, Normal};

use super::intervals::two_sided_z;
use super::{check_counts, pooled, Spread, Undefined};

/// A trend in pass rate across runs, weighted by each run's decisions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CochranArmitage {
    /// The test statistic, dispersion-corrected: negative for a decline.
    pub z: f64,
    /// One-sided p-value for a decline, Φ(z).
    pub p_decline: f64,
    /// Change in pass rate per unit of score (per run when scores are run
    /// indices): the weighted least-squares slope.
    pub slope: f64,
    /// Standard error of the slope, dispersion-corrected.
    pub slope_se: f64,
    /// Two-sided confidence interval of the slope at the level asked for.
    pub slope_ci: (f64, f64),
    /// φ ≥ 1: how much more the runs vary than binomial noise (1 = not).
    pub dispersion: f64,
    /// The slope times the span of the scores: the change across the window.
    pub predicted_change: f64,
}

/// Cochran–Armitage trend test on pooled counts: `passes[i]` of
/// `decisions[i]` gate decisions passed in run i, at score `scores[i]`.
///
/// With N = Σkᵢ, p̄ = Σxᵢ/N, t̄ = Σkᵢtᵢ/N, Sₜₜ = Σkᵢ(tᵢ − t̄)²:
/// U = Σxᵢ(tᵢ − t̄), V = p̄(1 − p̄)Sₜₜ, slope b = U/Sₜₜ (the weighted
/// least-squares line fᵢ = p̄ + b(tᵢ − t̄)). Overdispersion:
/// X² = Σkᵢ(yᵢ − fᵢ)²/(fᵢ(1 − fᵢ)) with yᵢ = xᵢ/kᵢ and fᵢ clamped to
/// [1/2N, 1 − 1/2N], φ = max(1, X²/(n − 2)) over the n runs that have
/// decisions (φ = 1 for n ≤ 2).
/// z = U/√(φV), one-sided p = Φ(z); SE(b) = √(φp̄(1 − p̄)/Sₜₜ).
///
/// Sources: Armitage, "Tests for linear trends in proportions and
/// frequencies", Biometrics 11 (1955) 375–386; the dispersion factor as in
/// quasi-binomial models (McCullagh & Nelder, Generalized Linear Models,
/// 2nd ed., §4.5). Without the correction (φ = 1), z equals statsmodels'
/// `Table.test_ordinal_association` z-score times √(N/(N − 1)).
///
/// Undefined without decisions, when every decision is the same (p̄ is 0
/// or 1), when all scores with decisions are equal, or for a non-finite
/// score or scores so spread that their sums overflow.
pub fn cochran_armitage(
    passes: &[u64],
    decisions: &[u64],
    scores: &[f64],
    confidence: f64,
) -> Result<CochranArmitage, Undefined> {
    let n = passes.len();
    if scores.len() != n {
        return Err(Undefined::LengthsDiffer);
    }
    check_counts(passes, decisions)?;
    if scores.iter().any(|t| !t.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    let (_, passed) = pooled(passes, decisions)?;
    let Spread {
        total,
        t_bar,
        s_tt,
        span,
    } = Spread::of(decisions.iter().copied().zip(scores.iter().copied()));
    let p_bar = passed as f64 / total;
    if s_tt <= 0.0 || !s_tt.is_finite() {
        return Err(Undefined::NoSpread);
    }
    let k: Vec<f64> = decisions.iter().map(|&k| k as f64).collect();
    let x: Vec<f64> = passes.iter().map(|&x| x as f64).collect();
    let u: f64 = x.iter().zip(scores).map(|(x, t)| x * (t - t_bar)).sum();
    let slope = u / s_tt;

    let floor = 0.5 / total;
    let chi2: f64 = (0..n)
        .filter(|&i| k[i] > 0.0)
        .map(|i| {
            let fit = (p_bar + slope * (scores[i] - t_bar)).clamp(floor, 1.0 - floor);
            k[i] * (x[i] / k[i] - fit).powi(2) / (fit * (1.0 - fit))
        })
        .sum();
    // Degrees of freedom: runs that have decisions, less the line's two.
    let runs = k.iter().filter(|&&k| k > 0.0).count();
    let dispersion = if runs > 2 {
        (chi2 / (runs - 2) as f64).max(1.0)
    } else {
        1.0
    };

    let variance = p_bar * (1.0 - p_bar) * s_tt;
    let z = u / (dispersion * variance).sqrt();
    if !(z.is_finite() && slope.is_finite() && dispersion.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    let slope_se = (dispersion * p_bar * (1.0 - p_bar) / s_tt).sqrt();
    let q = two_sided_z(confidence);
    Ok(CochranArmitage {
        z,
        p_decline: standard_normal().cdf(z),
        slope,
        slope_se,
        slope_ci: (slope - q * slope_se, slope + q * slope_se),
        dispersion,
        predicted_change: slope * span,
    })
}

/// N(0, 1).
pub(crate) fn standard_normal() -> Normal {
    Normal::standard()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clear_decline_has_a_small_p_value() {
        let r =
            cochran_armitage(&[19, 18, 15, 12, 10], &[20; 5], &[0., 1., 2., 3., 4.], 0.95).unwrap();
        assert!(r.z < -3.0, "{r:?}");
        assert!(r.p_decline < 0.01, "{r:?}");
        assert!(r.slope < 0.0 && r.slope_ci.1 < 0.0, "{r:?}");
        assert!((r.predicted_change - 4.0 * r.slope).abs() < 1e-15);
    }

    #[test]
    fn degenerate_data_is_undefined_not_nan() {
        let t = [0., 1., 2.];
        assert_eq!(
            cochran_armitage(&[0; 3], &[0; 3], &t, 0.95),
            Err(Undefined::NoData)
        );
        assert_eq!(
            cochran_armitage(&[3; 3], &[3; 3], &t, 0.95),
            Err(Undefined::NoVariation)
        );
        assert_eq!(
            cochran_armitage(&[0; 3], &[3; 3], &t, 0.95),
            Err(Undefined::NoVariation)
        );
        assert_eq!(
            cochran_armitage(&[1, 2], &[3, 3], &[5., 5.], 0.95),
            Err(Undefined::NoSpread)
        );
        assert_eq!(
            cochran_armitage(&[4], &[3], &[0.], 0.95),
            Err(Undefined::MorePassesThanDecisions)
        );
        assert_eq!(
            cochran_armitage(&[1], &[3, 3], &t, 0.95),
            Err(Undefined::LengthsDiffer)
        );
    }

    #[test]
    fn runs_without_decisions_do_not_count() {
        let with =
            cochran_armitage(&[9, 0, 5, 2], &[10, 0, 10, 10], &[0., 1., 2., 3.], 0.95).unwrap();
        // A run with no decisions still has a score but weighs nothing; the
        // predicted change spans only runs with decisions.
        let without = cochran_armitage(&[9, 5, 2], &[10, 10, 10], &[0., 2., 3.], 0.95).unwrap();
        assert!((with.z - without.z).abs() < 1e-12, "{with:?} {without:?}");
        assert!((with.slope - without.slope).abs() < 1e-15);
        assert_eq!(with.dispersion, without.dispersion);
        assert_eq!(with.predicted_change, without.predicted_change);
    }
}
