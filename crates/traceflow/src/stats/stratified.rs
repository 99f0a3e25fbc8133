//! The Cochran–Armitage trend test within strata (test cases): each case
//! against its own level, so that a shift of the traffic toward harder or
//! easier cases is no trend.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::overdispersed_trend::{p_decline, quantile, DISPERSION_LEVEL};
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
    /// Decisions in the strata with decisions at two or more scores
    /// (informing or all one outcome).
    pub decisions: u64,
    /// The test statistic: negative for a decline.
    pub z: f64,
    /// One-sided p-value for a decline: Φ(z), or Student's t with `df`
    /// when φ was estimated.
    pub p_decline: f64,
    /// Change in pass rate per unit of score within strata: the pooled
    /// within-stratum weighted least-squares slope.
    pub slope: f64,
    /// Its two-sided confidence interval at the level asked for.
    pub slope_ci: (f64, f64),
    /// φ ≥ 1: how much more the runs vary about the cases' levels than
    /// binomial noise explains (1 = not, or not significantly).
    pub dispersion: f64,
    /// Degrees of freedom of the t reference when φ was estimated; `None`
    /// when the normal was used.
    pub df: Option<f64>,
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
/// √ΣVₕ/ΣSₕ. A stratum with all its decisions at one score adds nothing;
/// one of a single outcome adds nothing to U or V but its Sₕ to the
/// slope's ΣSₕ (its cases did not change, which the slope averages in).
///
/// Source: Mantel, "Chi-square tests with one degree of freedom;
/// extensions of the Mantel–Haenszel procedure", JASA 58 (1963) 690–700.
///
/// Overdispersion, as the plain test judges it ([`trend_test`]): from
/// neighbouring runs, not from the residuals of a line. U = Σᵢ tᵢeᵢ with
/// eᵢ = Σₕ(xₕᵢ − p̄ₕkₕᵢ), each run's passes less what its cases' own levels
/// expect; the differences dⱼ = eᵢ₊₁ − eᵢ of neighbouring runs
/// (`within_dispersion`) estimate φ, with the pair that straddles the
/// likeliest step left out, and φ is used (z = U/√(φV), Student's t with
/// the estimate's degrees of freedom) only when φ = 1 is rejected at
/// [`DISPERSION_LEVEL`]. A case's decisions within a trace are not
/// independent (a failed attempt is retried on the same question), and a
/// run's decisions may share its conditions; both make runs vary more
/// than binomial noise, which φ absorbs.
///
/// Why not the Pearson X² of the cells about a common within-case line
/// (which this function used before): it counted as noise a step (the
/// commonest decline), the cases' different slopes (a quarter of the cases
/// breaking and the rest not is a single common slope's worst fit), and
/// the 0/1 cells of a case asked once a run, whose X² says nothing about
/// overdispersion; in an eval suite it made φ ≈ 4 and the interval twice
/// as wide as the plain test's on the same decisions.
///
/// One stratum gives the plain Cochran–Armitage z times √((N − 1)/N), the
/// conditional variance's factor; checked in the tests below.
///
/// Undefined when no stratum informs it, or for a non-finite score.
///
/// [`trend_test`]: super::trend_test
pub fn stratified_cochran_armitage(
    strata: &[Vec<Cell>],
    confidence: f64,
) -> Result<StratifiedTrend, Undefined> {
    let (mut u, mut v, mut s) = (0.0, 0.0, 0.0);
    let (mut informing, mut decisions) = (0, 0);
    // Each informing stratum's (N, p̄), for the runs' residuals.
    let mut levels: Vec<(usize, f64, f64)> = Vec::new();
    for (h, cells) in strata.iter().enumerate() {
        if cells.iter().any(|&(t, _, _)| !t.is_finite()) {
            return Err(Undefined::NotFinite);
        }
        if cells.iter().any(|&(_, x, k)| x > k) {
            return Err(Undefined::MorePassesThanDecisions);
        }
        let n: u64 = cells.iter().map(|c| c.2).sum();
        let passes: u64 = cells.iter().map(|c| c.1).sum();
        if n < 2 {
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
        // A case asked in two or more runs that never changed outcome adds
        // nothing to U or V, but its flat line belongs in the slope's
        // denominator: the change within cases is all repeated cases'
        // average, not only the ones that varied.
        s += s_h;
        decisions += n;
        if passes == 0 || passes == n {
            continue;
        }
        let p_bar = passes as f64 / n_f;
        u += cells
            .iter()
            .map(|&(t, x, _)| x as f64 * (t - t_bar))
            .sum::<f64>();
        v += p_bar * (1.0 - p_bar) * s_h * n_f / (n_f - 1.0);
        informing += 1;
        levels.push((h, n_f, p_bar));
    }
    if informing == 0 || v <= 0.0 || !(u.is_finite() && v.is_finite() && s.is_finite()) {
        return Err(Undefined::NoVariation);
    }
    let slope = u / s;
    let runs = run_residuals(strata, &levels);
    let (dispersion, df) = match within_dispersion(&runs, &levels) {
        Some(d) if d.p_value < DISPERSION_LEVEL && d.phi > 1.0 => (d.phi, Some(d.df)),
        _ => (1.0, None),
    };
    let z_plain = u / v.sqrt();
    let (z, p) = p_decline(z_plain, dispersion, df);
    let se = (dispersion * v).sqrt() / s;
    let q = quantile(df, confidence);
    Ok(StratifiedTrend {
        strata: informing,
        decisions,
        z,
        p_decline: p,
        slope,
        slope_ci: (slope - q * se, slope + q * se),
        dispersion,
        df,
        p_decline_binomial: super::cochran_armitage::standard_normal().cdf(z_plain),
    })
}

/// One run of the informing strata: its score, e = Σₕ(xₕ − p̄ₕkₕ), and
/// per stratum (Nₕ, p̄ₕ, kₕ) for the variances of differences.
#[derive(Debug, Clone, Default, PartialEq)]
struct RunResidual {
    score: f64,
    e: f64,
    /// Σₕ p̄ₕ(1 − p̄ₕ)kₕ: about e's variance under binomial noise.
    w: f64,
    /// (stratum, kₕ) of the strata asked in this run.
    cells: Vec<(usize, f64)>,
}

/// The informing strata's residuals gathered by run, in score order.
fn run_residuals(strata: &[Vec<Cell>], levels: &[(usize, f64, f64)]) -> Vec<RunResidual> {
    let mut runs: Vec<RunResidual> = Vec::new();
    for (j, &(h, _, p_bar)) in levels.iter().enumerate() {
        for &(t, x, k) in strata[h].iter().filter(|c| c.2 > 0) {
            let k = k as f64;
            let at = runs.partition_point(|r| r.score < t);
            if runs.get(at).is_none_or(|r| r.score != t) {
                runs.insert(
                    at,
                    RunResidual {
                        score: t,
                        ..RunResidual::default()
                    },
                );
            }
            let run = &mut runs[at];
            run.e += x as f64 - p_bar * k;
            run.w += p_bar * (1.0 - p_bar) * k;
            run.cells.push((j, k));
        }
    }
    runs
}

/// The runs' dispersion about their cases' levels, from neighbouring runs.
#[derive(Debug, Clone, Copy, PartialEq)]
struct WithinDispersion {
    /// φ̂ = Σd²/ΣE₀[d²].
    phi: f64,
    /// Satterthwaite's degrees of freedom of φ̂.
    df: f64,
    /// One-sided p-value of φ = 1.
    p_value: f64,
}

/// φ̂ from the differences dⱼ = eᵢ₊₁ − eᵢ of neighbouring runs' residuals
/// about their cases' levels, leaving out the pair across the likeliest
/// step (the split τ maximising E_L²·W/(W_L(W − W_L)), E_L and W_L the
/// runs before τ's Σe and Σw).
///
/// Under binomial noise given each case's margins (the hypergeometric),
/// stratum h adds p̄ₕ(1 − p̄ₕ)(Nₕ(kᵢ + kⱼ) − (kᵢ − kⱼ)²)/(Nₕ − 1) to
/// E₀[dⱼ²]; a trend adds its slope², a step (left out) one term, so the
/// estimate does not read a change of level as noise. φ̂ = Σd²/ΣE₀[d²];
/// taking d normal, Var(d²) = 2E₀[d²]² and neighbouring pairs, which share
/// a run, covary by 2wᵢ² (wᵢ its binomial variance), so Σd² is referred
/// to a χ² scaled to its mean and variance with ν = 2(ΣE₀)²/Var(Σd²)
/// (Satterthwaite), as [`successive_dispersion`](super::successive_dispersion)
/// does for the plain test. None with fewer than two pairs.
fn within_dispersion(
    runs: &[RunResidual],
    levels: &[(usize, f64, f64)],
) -> Option<WithinDispersion> {
    // cₕ = p̄ₕ(1 − p̄ₕ)/(Nₕ − 1), by informing stratum.
    let c: Vec<(f64, f64)> = levels
        .iter()
        .map(|&(_, n, p)| (n, p * (1.0 - p) / (n - 1.0)))
        .collect();
    let skip = likeliest_step(runs);
    let (mut sum_d2, mut mean, mut variance, mut pairs) = (0.0, 0.0, 0.0, 0usize);
    let mut previous = false;
    for i in 1..runs.len() {
        if Some(i) == skip {
            previous = false;
            continue;
        }
        let (a, b) = (&runs[i - 1], &runs[i]);
        // Σₕ cₕ(Nₕ(kᵢ + kⱼ) − (kᵢ − kⱼ)²); each run's cells are in
        // stratum order, so the strata asked in both meet in a merge.
        let mut e0: f64 = a
            .cells
            .iter()
            .chain(&b.cells)
            .map(|&(h, k)| c[h].1 * (c[h].0 * k - k * k))
            .sum();
        let (mut x, mut y) = (a.cells.iter().peekable(), b.cells.iter().peekable());
        while let (Some(&&(ha, ka)), Some(&&(hb, kb))) = (x.peek(), y.peek()) {
            match ha.cmp(&hb) {
                std::cmp::Ordering::Less => {
                    x.next();
                }
                std::cmp::Ordering::Greater => {
                    y.next();
                }
                std::cmp::Ordering::Equal => {
                    e0 += 2.0 * c[ha].1 * ka * kb;
                    x.next();
                    y.next();
                }
            }
        }
        if e0 <= 0.0 {
            previous = false;
            continue;
        }
        sum_d2 += (b.e - a.e).powi(2);
        mean += e0;
        variance += 2.0 * e0 * e0;
        if previous {
            variance += 4.0 * a.w * a.w;
        }
        previous = true;
        pairs += 1;
    }
    if pairs < 2 || mean <= 0.0 || variance <= 0.0 {
        return None;
    }
    let phi = sum_d2 / mean;
    let df = 2.0 * mean * mean / variance;
    let p_value = ChiSquared::new(df).ok()?.sf(df * phi);
    Some(WithinDispersion { phi, df, p_value })
}

/// The first run of the likeliest step in the runs' residuals: the split
/// τ maximising E_L²·W/(W_L(W − W_L)). None for fewer than two runs.
fn likeliest_step(runs: &[RunResidual]) -> Option<usize> {
    let total: f64 = runs.iter().map(|r| r.w).sum();
    let (mut e_left, mut w_left) = (0.0, 0.0);
    let mut best: Option<(usize, f64)> = None;
    for tau in 1..runs.len() {
        e_left += runs[tau - 1].e;
        w_left += runs[tau - 1].w;
        let w_right = total - w_left;
        if w_left <= 0.0 || w_right <= 0.0 {
            continue;
        }
        let score = e_left * e_left * total / (w_left * w_right);
        if best.is_none_or(|(_, b)| score > b) {
            best = Some((tau, score));
        }
    }
    best.map(|(tau, _)| tau)
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
    fn runs_that_vary_more_than_binomial_noise_widen_the_test() {
        // Two cases whose runs swing together between 2 and 18 of 20
        // around a flat level: far more than binomial noise, and no trend.
        let swing = || -> Vec<Cell> {
            (0..8)
                .map(|i| (i as f64, if i % 2 == 0 { 18 } else { 2 }, 20))
                .collect()
        };
        let within = stratified_cochran_armitage(&[swing(), swing()], 0.95).unwrap();
        assert!(within.dispersion > 10.0, "{within:?}");
        assert!(within.df.is_some(), "{within:?}");
        // The same cells but steady: φ = 1.
        let steady: Vec<Cell> = (0..8).map(|i| (i as f64, 10, 20)).collect();
        let calm = stratified_cochran_armitage(&[steady.clone(), steady], 0.95).unwrap();
        assert_eq!((calm.dispersion, calm.df), (1.0, None));
    }

    /// An eval suite: 40 cases asked once in each of 24 runs, passing with
    /// chance 0.9 (seeded), a quarter of them failing from run 16 on.
    fn suite_with_a_quarter_breaking() -> Vec<Vec<Cell>> {
        use rand::{RngExt, SeedableRng};
        let mut rng = rand::rngs::ChaCha8Rng::seed_from_u64(16);
        (0..40)
            .map(|case| {
                (0..24)
                    .map(|run| {
                        let p = if case < 10 && run >= 16 { 0.1 } else { 0.9 };
                        (run as f64, u64::from(rng.random_bool(p)), 1)
                    })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn a_quarter_of_a_suites_cases_breaking_is_a_step_not_noise() {
        // The cases' slopes differ (a quarter fall, the rest do not) and
        // the fall is a step, not a line; neither is overdispersion. The
        // X² of the cells about a common line called it φ ≈ 4, which
        // doubled the interval of the plain test on the same decisions.
        let strata = suite_with_a_quarter_breaking();
        let within = stratified_cochran_armitage(&strata, 0.95).unwrap();
        assert_eq!(within.dispersion, 1.0, "{within:?}");
        let passes: Vec<u64> = (0..24)
            .map(|run| strata.iter().map(|cells| cells[run].1).sum())
            .collect();
        let plain = crate::stats::trend_test(&passes, &[40; 24], 0.95).unwrap();
        let width = |ci: (f64, f64)| ci.1 - ci.0;
        assert!(
            width(within.slope_ci) <= width(plain.test.slope_ci),
            "{within:?} {plain:?}"
        );
        // Every case in every run: the same U, a smaller variance.
        assert!(within.z <= plain.test.z, "{within:?} {plain:?}");
        assert!(within.p_decline < 1e-4, "{within:?}");
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
        assert_eq!((with.z, with.p_decline), (alone.z, alone.p_decline));
        assert_eq!((with.strata, with.decisions), (1, 29));
        assert!(with.p_decline < 0.01, "{with:?}");
        // The case that always passed did not change, and the slope
        // averages it in: S = 5 for the falling case, 20/9 for it.
        assert!(
            (with.slope - alone.slope * 45.0 / 65.0).abs() < 1e-12,
            "{with:?} {alone:?}"
        );
        assert_eq!(
            stratified_cochran_armitage(&[vec![(f64::NAN, 1, 2), (1.0, 1, 2)]], 0.95),
            Err(Undefined::NotFinite)
        );
    }
}
