//! The Cochran–Armitage trend test within strata (test cases): each case
//! against its own level, so that a shift of the traffic toward harder or
//! easier cases is no trend.

use statrs::distribution::ContinuousCDF;

use super::cochran_armitage::standard_normal;
use super::intervals::two_sided_z;
use super::Undefined;

/// One stratum's decisions in one run: (the run's score, passes,
/// decisions).
pub type Cell = (f64, u64, u64);

/// A trend in pass rate within strata.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StratifiedTrend {
    /// Strata that inform the test (decisions at two or more scores, not
    /// all one outcome).
    pub strata: usize,
    /// Decisions in those strata.
    pub decisions: u64,
    /// The test statistic: negative for a decline.
    pub z: f64,
    /// One-sided p-value for a decline, Φ(z).
    pub p_decline: f64,
    /// Change in pass rate per unit of score within strata: the pooled
    /// within-stratum weighted least-squares slope.
    pub slope: f64,
    /// Its two-sided confidence interval at the level asked for.
    pub slope_ci: (f64, f64),
    /// φ ≥ 1: how much more the cells vary about the cases' lines than
    /// binomial noise explains (1 = not).
    pub dispersion: f64,
    /// Φ(z) without the dispersion correction (φ = 1): the
    /// Cochran–Mantel–Haenszel test when each stratum has two scores.
    pub p_decline_binomial: f64,
}

/// The Cochran–Armitage test summed within strata (Mantel's extension).
///
/// For stratum h with cells (tᵢ, xᵢ, kᵢ): Nₕ = Σkᵢ, p̄ₕ = Σxᵢ/Nₕ, t̄ₕ =
/// Σkᵢtᵢ/Nₕ, Sₕ = Σkᵢ(tᵢ − t̄ₕ)², Uₕ = Σxᵢ(tᵢ − t̄ₕ), and the variance of
/// Uₕ given the stratum's margins Vₕ = p̄ₕ(1 − p̄ₕ)Sₕ Nₕ/(Nₕ − 1). Then
/// z = ΣUₕ/√ΣVₕ, one-sided p = Φ(z); the slope b = ΣUₕ/ΣSₕ, with SE
/// √ΣVₕ/ΣSₕ. A stratum with all its decisions at one score, or all of one
/// outcome, adds nothing to U or V.
///
/// Source: Mantel, "Chi-square tests with one degree of freedom;
/// extensions of the Mantel–Haenszel procedure", JASA 58 (1963) 690–700.
/// Overdispersion, as the plain test corrects it: with each stratum's line
/// fₕᵢ = p̄ₕ + b(tᵢ − t̄ₕ) (clamped to [1/2N, 1 − 1/2N]), X² = Σkᵢ(xᵢ/kᵢ −
/// fₕᵢ)²/(fₕᵢ(1 − fₕᵢ)) over the informing strata's cells, and φ =
/// max(1, X²/(cells − strata − 1)); z = ΣUₕ/√(φΣVₕ). A case's decisions
/// within a trace are not independent (a failed attempt is retried on the
/// same question), which φ absorbs.
///
/// One stratum gives the plain Cochran–Armitage z times √((N − 1)/N), the
/// conditional variance's factor; checked in the tests below.
///
/// Undefined when no stratum informs it, or for a non-finite score.
pub fn stratified_cochran_armitage(
    strata: &[Vec<Cell>],
    confidence: f64,
) -> Result<StratifiedTrend, Undefined> {
    let (mut u, mut v, mut s) = (0.0, 0.0, 0.0);
    let (mut informing, mut decisions) = (0, 0);
    // Each informing stratum's (p̄, t̄), for the dispersion's fitted lines.
    let mut lines: Vec<(usize, f64, f64)> = Vec::new();
    for (h, cells) in strata.iter().enumerate() {
        if cells.iter().any(|&(t, _, _)| !t.is_finite()) {
            return Err(Undefined::NotFinite);
        }
        if cells.iter().any(|&(_, x, k)| x > k) {
            return Err(Undefined::MorePassesThanDecisions);
        }
        let n: u64 = cells.iter().map(|c| c.2).sum();
        let passes: u64 = cells.iter().map(|c| c.1).sum();
        if n < 2 || passes == 0 || passes == n {
            continue;
        }
        let n_f = n as f64;
        let t_bar = cells.iter().map(|&(t, _, k)| k as f64 * t).sum::<f64>() / n_f;
        let s_h: f64 = cells
            .iter()
            .map(|&(t, _, k)| k as f64 * (t - t_bar).powi(2))
            .sum();
        if s_h <= 0.0 {
            continue;
        }
        let p_bar = passes as f64 / n_f;
        u += cells
            .iter()
            .map(|&(t, x, _)| x as f64 * (t - t_bar))
            .sum::<f64>();
        v += p_bar * (1.0 - p_bar) * s_h * n_f / (n_f - 1.0);
        s += s_h;
        informing += 1;
        decisions += n;
        lines.push((h, p_bar, t_bar));
    }
    if informing == 0 || v <= 0.0 || !(u.is_finite() && v.is_finite() && s.is_finite()) {
        return Err(Undefined::NoVariation);
    }
    let slope = u / s;
    let floor = 0.5 / decisions as f64;
    let (mut chi2, mut cells) = (0.0, 0usize);
    for &(h, p_bar, t_bar) in &lines {
        for &(t, x, k) in strata[h].iter().filter(|c| c.2 > 0) {
            let fit = (p_bar + slope * (t - t_bar)).clamp(floor, 1.0 - floor);
            let k = k as f64;
            chi2 += k * (x as f64 / k - fit).powi(2) / (fit * (1.0 - fit));
            cells += 1;
        }
    }
    // Degrees of freedom: the cells, less each stratum's level and the
    // common slope.
    let df = cells.saturating_sub(informing + 1);
    let dispersion = if df > 0 {
        (chi2 / df as f64).max(1.0)
    } else {
        1.0
    };
    let z = u / (dispersion * v).sqrt();
    let se = (dispersion * v).sqrt() / s;
    let q = two_sided_z(confidence);
    Ok(StratifiedTrend {
        strata: informing,
        decisions,
        z,
        p_decline: standard_normal().cdf(z),
        slope,
        slope_ci: (slope - q * se, slope + q * se),
        dispersion,
        p_decline_binomial: standard_normal().cdf(u / v.sqrt()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::cochran_armitage;

    #[test]
    fn one_stratum_is_the_plain_test_with_the_conditional_variance() {
        let (passes, decisions) = ([19u64, 18, 15, 12, 10], [20u64; 5]);
        let scores = [0.0, 1.0, 2.0, 3.0, 4.0];
        let plain = cochran_armitage(&passes, &decisions, &scores, 0.95).unwrap();
        assert_eq!(plain.dispersion, 1.0, "{plain:?}");
        let cells: Vec<Cell> = (0..5)
            .map(|i| (scores[i], passes[i], decisions[i]))
            .collect();
        let within = stratified_cochran_armitage(&[cells], 0.95).unwrap();
        let factor = (99.0f64 / 100.0).sqrt();
        assert!(
            (within.z - plain.z * factor).abs() < 1e-12,
            "{within:?} {plain:?}"
        );
        assert!((within.slope - plain.slope).abs() < 1e-15);
        assert_eq!((within.strata, within.decisions), (1, 100));
    }

    #[test]
    fn cells_that_vary_more_than_binomial_noise_widen_the_test() {
        // Two cases whose runs swing between 2 and 18 of 20 around a flat
        // level: far more than binomial noise, and no trend.
        let swing = |phase: u64| -> Vec<Cell> {
            (0..8)
                .map(|i| {
                    (
                        i as f64,
                        if (i + phase).is_multiple_of(2) { 18 } else { 2 },
                        20,
                    )
                })
                .collect()
        };
        let within = stratified_cochran_armitage(&[swing(0), swing(1)], 0.95).unwrap();
        assert!(within.dispersion > 10.0, "{within:?}");
        // The same cells but steady: φ = 1.
        let steady: Vec<Cell> = (0..8).map(|i| (i as f64, 10, 20)).collect();
        let calm = stratified_cochran_armitage(&[steady.clone(), steady], 0.95).unwrap();
        assert_eq!(calm.dispersion, 1.0);
    }

    #[test]
    fn a_shift_toward_a_harder_case_is_no_trend_within_cases() {
        // An easy case (19 of 20) and a hard one (10 of 20) at every run,
        // but the runs move from the easy case to the hard one: the pooled
        // rate falls, each case's does not.
        let easy: Vec<Cell> = (0..6)
            .map(|i| (i as f64, 19 * (6 - i), 20 * (6 - i)))
            .collect();
        let hard: Vec<Cell> = (0..6)
            .map(|i| (i as f64, 10 * (i + 1), 20 * (i + 1)))
            .collect();
        let within = stratified_cochran_armitage(&[easy.clone(), hard.clone()], 0.95).unwrap();
        assert!(within.z.abs() < 1e-9, "{within:?}");
        assert!((within.p_decline - 0.5).abs() < 1e-9);
        // Pooled, the same decisions fall steeply.
        let passes: Vec<u64> = (0..6).map(|i| easy[i].1 + hard[i].1).collect();
        let decisions: Vec<u64> = (0..6).map(|i| easy[i].2 + hard[i].2).collect();
        let scores: Vec<f64> = (0..6).map(|i| i as f64).collect();
        let plain = cochran_armitage(&passes, &decisions, &scores, 0.95).unwrap();
        assert!(plain.p_decline < 1e-6, "{plain:?}");
    }

    #[test]
    fn strata_without_information_are_left_out_and_none_is_undefined() {
        // One run only, or one outcome only: nothing to test.
        let one_run = vec![(0.0, 3, 5)];
        let all_pass = vec![(0.0, 5, 5), (1.0, 4, 4)];
        assert_eq!(
            stratified_cochran_armitage(&[one_run.clone(), all_pass.clone()], 0.95),
            Err(Undefined::NoVariation)
        );
        let falling = vec![(0.0, 9, 10), (1.0, 2, 10)];
        let with =
            stratified_cochran_armitage(&[one_run, all_pass, falling.clone()], 0.95).unwrap();
        let alone = stratified_cochran_armitage(&[falling], 0.95).unwrap();
        assert_eq!(with, alone);
        assert!(with.p_decline < 0.01, "{with:?}");
        assert_eq!(
            stratified_cochran_armitage(&[vec![(f64::NAN, 1, 2), (1.0, 1, 2)]], 0.95),
            Err(Undefined::NotFinite)
        );
    }
}
