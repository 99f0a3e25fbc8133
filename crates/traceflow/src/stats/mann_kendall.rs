//! The Mann–Kendall trend test and Sen's slope: rank-based, for continuous
//! metrics and as a second opinion on rates.

use super::cochran_armitage::standard_normal;
use super::slopes::{median_and, Plan};
use super::{check_series, median, order_statistic, scale_of, Undefined};
use statrs::distribution::ContinuousCDF;

/// Runs up to which the pairwise slopes are materialized (2 million slopes,
/// 16 MB) and selected from; above, they are selected without being
/// materialized (by the selection in `stats::slopes`), in memory linear in
/// the runs.
pub const MATERIALIZE_MAX: usize = 2_000;

/// A monotonic trend in a series, by ranks (its serialization is the JSON
/// report's `mann_kendall`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct MannKendall {
    /// S = Σᵢ<ⱼ sign(yⱼ − yᵢ): negative for a decline.
    pub s: i64,
    /// Var(S), corrected for ties.
    pub var_s: f64,
    /// (S ∓ 1)/√Var(S), continuity-corrected; 0 when S is 0 (so also for a
    /// constant series, whose Var(S) is 0), as pymannkendall has it.
    pub z: f64,
    /// One-sided p-value for a decline, Φ(z).
    pub p_decline: f64,
    /// Sen's slope: the median of the pairwise slopes.
    pub sen_slope: f64,
    /// Its confidence interval (degenerate at the median when Var(S) is 0).
    #[serde(rename = "sen_slope_ci")]
    pub sen_ci: (f64, f64),
}

/// Mann–Kendall test (tie-corrected, continuity-corrected) of `y` in order,
/// with Sen's slope against x = 0, 1, 2, ….
///
/// S = Σᵢ<ⱼ sign(yⱼ − yᵢ); Var(S) = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)]/18 over
/// groups of t tied values; z = (S − 1)/√Var(S) for S > 0, (S + 1)/√Var(S)
/// for S < 0, 0 for S = 0. Sources: Mann, Econometrica 13 (1945) 245–259;
/// Kendall, Rank Correlation Methods (1975); Hipel & McLeod, Time Series
/// Modelling of Water Resources (1994) §23.3 (as pymannkendall's
/// `original_test`). S is counted over ranks with a Fenwick tree, in
/// O(n log n).
///
/// Sen's slope: median of (yⱼ − yᵢ)/(j − i); its interval from the ordered
/// slopes at ranks (N ∓ z₍₁₊c₎/₂·σ)/2, σ² = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)]/18
/// with the ties of y (x has none), rounded half to even: Sen, JASA 63 (1968)
/// 1379–1389, eq. 2.6, as scipy's `theilslopes` computes it. Up to
/// [`MATERIALIZE_MAX`] runs the slopes are listed and selected from; beyond,
/// they are selected without listing them (the same slopes where the
/// quotients are exact, else within an ulp or two). Series beyond 2^±500
/// are first scaled by a power of two, exactly, so that differences of
/// values near the largest float do not overflow.
///
/// Undefined for fewer than 2 points, a non-finite value, a confidence
/// outside [0, 1], or a slope past the largest float (values of opposite
/// sign near it).
pub fn mann_kendall(y: &[f64], confidence: f64) -> Result<MannKendall, Undefined> {
    let plan = (y.len() > MATERIALIZE_MAX).then(|| Plan::for_len(y.len()));
    mann_kendall_with(y, confidence, plan)
}

/// [`mann_kendall`], the slopes selected by `plan` if given, else
/// materialized.
fn mann_kendall_with(
    y: &[f64],
    confidence: f64,
    plan: Option<Plan>,
) -> Result<MannKendall, Undefined> {
    check_series(y, 2)?;
    if !(0.0..=1.0).contains(&confidence) {
        return Err(Undefined::NotFinite);
    }
    let n = y.len();
    let s = kendall_s(y);

    let var_s = tie_corrected_variance(y);
    // S ≠ 0 implies two distinct values, so Var(S) > 0 there.
    let z = match s.signum() {
        1 => (s - 1) as f64 / var_s.sqrt(),
        -1 => (s + 1) as f64 / var_s.sqrt(),
        _ => 0.0,
    };
    let normal = standard_normal();
    let pairs = (n as u64) * (n as u64 - 1) / 2;
    let q = -normal.inverse_cdf((1.0 - confidence) / 2.0);
    let sigma = var_s.sqrt();
    // Ranks into the ordered slopes (0-based), clamped to the pairs there are.
    let last = pairs - 1;
    let upper = (((pairs as f64 + q * sigma) / 2.0).round_ties_even() as u64).min(last);
    let lower =
        ((((pairs as f64 - q * sigma) / 2.0).round_ties_even() - 1.0).max(0.0) as u64).min(last);

    // Slopes of values near the largest float would overflow: scale them.
    let largest = y.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
    let scale = if (0.5f64.powi(500)..=2f64.powi(500)).contains(&largest) {
        1.0
    } else {
        scale_of(y.iter().copied())
    };
    let scaled: Vec<f64>;
    let y = if scale == 1.0 {
        y
    } else {
        scaled = y.iter().map(|v| v / scale).collect();
        &scaled
    };
    let (sen_slope, sen_ci) = if let Some(plan) = plan {
        let (median, ends) = median_and(y, &[lower, upper], &plan);
        (median, (ends[0], ends[1]))
    } else {
        let mut slopes = Vec::with_capacity(n * (n - 1) / 2);
        for i in 0..n {
            for j in i + 1..n {
                slopes.push((y[j] - y[i]) / (j - i) as f64);
            }
        }
        // Order statistics by selection, O(n²) in runs rather than a sort's
        // O(n² log n).
        let sen_ci = (
            order_statistic(&mut slopes, lower as usize),
            order_statistic(&mut slopes, upper as usize),
        );
        // At least one pair: n ≥ 2.
        (median(&mut slopes).unwrap_or(0.0), sen_ci)
    };
    let (sen_slope, sen_ci) = (sen_slope * scale, (sen_ci.0 * scale, sen_ci.1 * scale));
    if !(sen_slope.is_finite() && sen_ci.0.is_finite() && sen_ci.1.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    Ok(MannKendall {
        s,
        var_s,
        z,
        p_decline: normal.cdf(z),
        sen_ci,
        sen_slope,
    })
}

/// S = Σᵢ<ⱼ sign(yⱼ − yᵢ): for each j, the earlier values below it less
/// those above it, over ranks (equal values, −0 and 0 among them, tie).
fn kendall_s(y: &[f64]) -> i64 {
    let n = y.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_unstable_by(|&a, &b| y[a].total_cmp(&y[b]));
    let mut rank = vec![0usize; n];
    let mut r = 0;
    for i in 0..n {
        if i > 0 && y[order[i]] != y[order[i - 1]] {
            r += 1;
        }
        rank[order[i]] = r;
    }
    // Counts of earlier ranks, as a Fenwick tree.
    let mut tree = vec![0i64; r + 2];
    let prefix = |tree: &[i64], mut i: usize| {
        let mut sum = 0;
        while i > 0 {
            sum += tree[i];
            i &= i - 1;
        }
        sum
    };
    let mut s = 0i64;
    for (j, &r) in rank.iter().enumerate() {
        let below = prefix(&tree, r);
        let above = j as i64 - prefix(&tree, r + 1);
        s += below - above;
        let mut i = r + 1;
        while i < tree.len() {
            tree[i] += 1;
            i += i & i.wrapping_neg();
        }
    }
    s
}

/// [n(n−1)(2n+5) − Σ t(t−1)(2t+5)]/18 over groups of t equal values.
fn tie_corrected_variance(y: &[f64]) -> f64 {
    let n = y.len() as f64;
    let mut sorted = y.to_vec();
    sorted.sort_unstable_by(f64::total_cmp);
    let ties: f64 = sorted
        .chunk_by(|a, b| a == b)
        .map(|group| {
            let t = group.len() as f64;
            t * (t - 1.0) * (2.0 * t + 5.0)
        })
        .sum();
    (n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::ChaCha8Rng;
    use rand::{RngExt, SeedableRng};

    /// The definition, every pair listed (the implementation before the
    /// selection): S, Var(S), Sen's slope and its interval.
    fn by_definition(y: &[f64], confidence: f64) -> (i64, f64, f64, (f64, f64)) {
        let n = y.len();
        let mut s = 0;
        let mut slopes = Vec::new();
        for i in 0..n {
            for j in i + 1..n {
                let d = y[j] - y[i];
                s += i64::from(d > 0.0) - i64::from(d < 0.0);
                slopes.push(d / (j - i) as f64);
            }
        }
        slopes.sort_unstable_by(f64::total_cmp);
        let var_s = tie_corrected_variance(y);
        let pairs = slopes.len() as f64;
        let q = -standard_normal().inverse_cdf((1.0 - confidence) / 2.0);
        let last = slopes.len() - 1;
        let upper = (((pairs + q * var_s.sqrt()) / 2.0).round_ties_even() as usize).min(last);
        let lower = (((pairs - q * var_s.sqrt()) / 2.0).round_ties_even() - 1.0).max(0.0) as usize;
        let m = slopes.len();
        let median = if m % 2 == 1 {
            slopes[m / 2]
        } else {
            (slopes[m / 2 - 1] + slopes[m / 2]) / 2.0
        };
        (s, var_s, median, (slopes[lower.min(last)], slopes[upper]))
    }

    /// Whether every pairwise slope is exact: y_j − y_i and its quotient
    /// by j − i rounded nothing.
    fn slopes_are_exact(y: &[f64]) -> bool {
        (0..y.len()).all(|i| {
            (i + 1..y.len()).all(|j| {
                let d = y[j] - y[i];
                let m = (j - i) as f64;
                let exact_difference = d - y[j] == -y[i] && y[j] - d == y[i];
                exact_difference && (d / m).mul_add(m, -d) == 0.0
            })
        })
    }

    /// Equal, or (for rounded slopes) a few ulps apart.
    fn close(a: f64, b: f64, exact: bool) -> bool {
        if exact {
            return a == b;
        }
        a == b || (a - b).abs() <= 8.0 * f64::EPSILON * a.abs().max(b.abs())
    }

    /// Series of every kind: continuous, heavily tied, constant,
    /// monotone, exact (integer squares: slopes i + j), tiny.
    fn series(rng: &mut ChaCha8Rng, kind: usize) -> Vec<f64> {
        let n = match kind % 7 {
            6 => rng.random_range(2..6),
            _ => rng.random_range(2..90),
        };
        (0..n)
            .map(|k| {
                let k = k as f64;
                match kind % 7 {
                    0 => rng.random::<f64>() * 10.0 - 3.0,
                    1 => f64::from(rng.random_range(0..3u8)),
                    2 => 0.75,
                    3 => k * 0.1 + rng.random::<f64>() * 0.01,
                    4 => k * k - 3.0 * k,
                    5 => f64::from(rng.random_range(0..2u8)) * k,
                    _ => rng.random::<f64>(),
                }
            })
            .collect()
    }

    #[test]
    fn the_selection_gives_the_definitions_statistics() {
        let mut rng = ChaCha8Rng::seed_from_u64(7);
        for case in 0..350 {
            let y = series(&mut rng, case);
            let exact = slopes_are_exact(&y);
            // Small brackets listed late, few pairs drawn: many rounds.
            let plan = Plan {
                enumerate_at_most: [1, 5, 40][case % 3],
                sample: [3, 8, 64][case % 3],
                seed: case as u64,
            };
            for confidence in [0.95, 0.5] {
                let (s, var_s, median, ci) = by_definition(&y, confidence);
                let r = mann_kendall_with(&y, confidence, Some(plan)).unwrap();
                let m = mann_kendall_with(&y, confidence, None).unwrap();
                assert_eq!(m, mann_kendall(&y, confidence).unwrap());
                for r in [r, m] {
                    assert_eq!((r.s, r.var_s), (s, var_s), "{case}: {y:?}");
                    assert!(
                        close(r.sen_slope, median, exact),
                        "{case}: {r:?} {median} {y:?}"
                    );
                    assert!(close(r.sen_ci.0, ci.0, exact), "{case}: {r:?} {ci:?} {y:?}");
                    assert!(close(r.sen_ci.1, ci.1, exact), "{case}: {r:?} {ci:?} {y:?}");
                }
            }
        }
    }

    #[test]
    fn long_series_are_selected_as_the_short_ones_are_listed() {
        // Past MATERIALIZE_MAX, by the default plan, against the definition.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let noisy: Vec<f64> = (0..2_500)
            .map(|k| 0.01 * k as f64 + rng.random::<f64>())
            .collect();
        let tied: Vec<f64> = (0..2_500)
            .map(|_| f64::from(rng.random_range(0..4u8)))
            .collect();
        for y in [noisy, tied] {
            let (s, var_s, median, ci) = by_definition(&y, 0.95);
            let r = mann_kendall(&y, 0.95).unwrap();
            let exact = slopes_are_exact(&y);
            assert_eq!((r.s, r.var_s), (s, var_s));
            assert!(close(r.sen_slope, median, exact), "{r:?} {median}");
            assert!(close(r.sen_ci.0, ci.0, exact), "{r:?} {ci:?}");
            assert!(close(r.sen_ci.1, ci.1, exact), "{r:?} {ci:?}");
        }
    }

    #[test]
    fn a_hundred_thousand_runs_need_no_five_billion_slopes() {
        // y = k²: the slope of (i, j) is i + j, exactly, symmetric about
        // n − 1 (so the median is n − 1 and the interval symmetric about
        // it), with every value heavily tied. Listing the 5·10⁹ slopes
        // would take 40 GB: the implementation before aborted here
        // (200,000 runs, 160 GB before, take 0.7 s in a release build:
        // `mann_kendall_time`).
        let n = 100_000usize;
        let y: Vec<f64> = (0..n).map(|k| (k * k) as f64).collect();
        let r = mann_kendall(&y, 0.95).unwrap();
        let pairs = (n * (n - 1) / 2) as i64;
        assert_eq!(r.s, pairs);
        let nf = n as f64;
        assert_eq!(r.var_s, nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0);
        assert_eq!(r.sen_slope, nf - 1.0);
        // The interval's ranks: (N ∓ z·σ)/2, the lower one less 1.
        let q = -standard_normal().inverse_cdf(0.025) * r.var_s.sqrt();
        let upper = ((pairs as f64 + q) / 2.0).round_ties_even() as i64;
        let lower = ((pairs as f64 - q) / 2.0).round_ties_even() as i64 - 1;
        // The slope of rank k: the smallest s with #{i < j: i + j ≤ s} > k.
        let at_rank = |k: i64| -> f64 {
            let (n, mut below, mut s) = (n as i64, 0i64, 0i64);
            loop {
                // Pairs i < j with i + j = s, 0 ≤ i < j < n.
                let pairs_at = ((s - 1) / 2 - (s - n + 1).max(0) + 1).max(0);
                if below + pairs_at > k {
                    return s as f64;
                }
                below += pairs_at;
                s += 1;
            }
        };
        assert_eq!(r.sen_ci, (at_rank(lower), at_rank(upper)));
        assert_eq!(r.sen_ci.0 + r.sen_ci.1, 2.0 * (nf - 1.0));
    }

    /// Long series' time, to run by hand in a release build:
    /// `cargo test --release -p traceflow --lib -- --ignored --nocapture mann_kendall_time`.
    #[test]
    #[ignore]
    fn mann_kendall_time() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for n in [200_000usize, 1_000_000] {
            let noisy: Vec<f64> = (0..n)
                .map(|k| 1e-5 * k as f64 + rng.random::<f64>())
                .collect();
            let tied: Vec<f64> = (0..n)
                .map(|_| f64::from(rng.random_range(0..4u8)))
                .collect();
            for (name, y) in [("continuous", noisy), ("four values", tied)] {
                let start = std::time::Instant::now();
                let r = mann_kendall(&y, 0.95).unwrap();
                println!("{n} runs, {name}: {:?} {r:?}", start.elapsed());
            }
        }
    }

    #[test]
    fn values_near_the_largest_float_do_not_overflow_their_slopes() {
        // Differences of 1e308 and −1e308 overflow; scaled, they do not.
        let mut y: Vec<f64> = (0..20).map(|k| 1e307 / 4.0 * k as f64).collect();
        y[3] = -1e308;
        let r = mann_kendall(&y, 0.95).unwrap();
        let scaled: Vec<f64> = y.iter().map(|v| v / 1e300).collect();
        let small = mann_kendall(&scaled, 0.95).unwrap();
        assert_eq!(r.s, small.s);
        assert!((r.sen_slope / small.sen_slope / 1e300 - 1.0).abs() < 1e-15);
        // A slope past the largest float is undefined, not infinite.
        assert_eq!(
            mann_kendall(&[-f64::MAX, f64::MAX], 0.95),
            Err(Undefined::NotFinite)
        );
        let tiny: Vec<f64> = (0..12).map(|k| 1e-310 * k as f64).collect();
        assert!(mann_kendall(&tiny, 0.95).unwrap().sen_slope > 0.0);
    }

    #[test]
    fn a_falling_series_has_negative_s_and_slope() {
        let r = mann_kendall(&[1.0, 0.9, 0.95, 0.7, 0.6, 0.5], 0.95).unwrap();
        assert_eq!(r.s, -13);
        // pymannkendall: z = -2.2544, one-sided p = Φ(z) = 0.01209.
        assert!((r.p_decline - 0.012_085_273_587).abs() < 1e-9, "{r:?}");
        assert!(r.sen_slope < 0.0);
    }

    #[test]
    fn a_constant_series_shows_no_trend() {
        let r = mann_kendall(&[0.8; 6], 0.95).unwrap();
        assert_eq!((r.s, r.var_s, r.z, r.p_decline), (0, 0.0, 0.0, 0.5));
        assert_eq!((r.sen_slope, r.sen_ci), (0.0, (0.0, 0.0)));
    }

    #[test]
    fn too_short_or_not_finite_is_undefined() {
        assert_eq!(
            mann_kendall(&[1.0], 0.95),
            Err(Undefined::TooFew {
                needed: 2,
                found: 1
            })
        );
        assert_eq!(
            mann_kendall(&[1.0, f64::NAN], 0.95),
            Err(Undefined::NotFinite)
        );
    }
}
