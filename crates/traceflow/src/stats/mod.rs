//! Statistics over per-run series: pure functions over slices, no I/O.
//!
//! Each function cites its formula and source, and says when its result is
//! undefined for the data ([`Undefined`]) rather than returning NaN.

pub mod clustered;
pub mod cochran_armitage;
pub mod dispersion;
pub mod fdr;
pub mod fisher;
pub mod holm;
pub mod intervals;
pub mod mann_kendall;
pub mod ols;
pub mod overdispersed_trend;
pub mod pettitt;
pub mod power;
pub mod repeated;
pub(crate) mod slopes;
pub mod step_change;
pub mod stratified;
pub mod student;
pub mod sum;

pub use clustered::{design_effect, effective_counts};
pub use cochran_armitage::{cochran_armitage, CochranArmitage};
pub use dispersion::{successive_dispersion, trend_inflation_per_rho, Dispersion};
pub use fdr::benjamini_hochberg;
pub use fisher::fisher_worse;
pub use holm::holm;
pub use intervals::{newcombe, wilson};
pub use mann_kendall::{mann_kendall, MannKendall};
pub use ols::{ols, ols_test, OlsFit, OlsTest};
pub use overdispersed_trend::{trend_test, TrendTest, DISPERSION_LEVEL};
pub use pettitt::{pettitt, Pettitt, Shift};
pub use power::min_detectable_drop;
pub use repeated::{repeated_level, simulation_rate, RepeatedOptions};
pub use step_change::{segment, step_change, Level, Permuted, StepChange, StepOptions};
pub use stratified::{stratified_cochran_armitage, StratifiedTrend};

/// The k-th smallest value (0-based), as a full sort by `total_cmp` would
/// place it, by selection (O(n)); reorders `values`.
pub(crate) fn order_statistic(values: &mut [f64], k: usize) -> f64 {
    *values.select_nth_unstable_by(k, f64::total_cmp).1
}

/// The median (the mean of the middle two for even n); `None` for none.
/// Reorders `values`.
pub(crate) fn median(values: &mut [f64]) -> Option<f64> {
    let n = values.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(order_statistic(values, n / 2)),
        _ => Some(midpoint(
            order_statistic(values, n / 2 - 1),
            order_statistic(values, n / 2),
        )),
    }
}

/// (a + b)/2, without overflowing when a + b would (two values of 1e308).
pub(crate) fn midpoint(a: f64, b: f64) -> f64 {
    let sum = a + b;
    if sum.is_finite() {
        sum / 2.0
    } else {
        a / 2.0 + b / 2.0
    }
}

/// A power of two s such that values / s have their largest magnitude in
/// [1, 2) (1 for values all 0 or none), so that their squares and sums
/// cannot overflow (values of 1e250) or underflow (1e-200).
///
/// Dividing by a power of two is exact, and so every later +, −, ×, ÷ and
/// comparison gives the same bits as without it, scaled: ordinary data is
/// computed exactly as before. Only values below 2^−1022 of the largest
/// lose bits (to subnormals), which beside the largest are nothing.
pub(crate) fn scale_of(values: impl IntoIterator<Item = f64>) -> f64 {
    let largest = values
        .into_iter()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    if largest == 0.0 {
        return 1.0;
    }
    // The binary exponent of the largest, kept where 2^e is a normal number
    // (|e| ≤ 1000 leaves largest / 2^e within 2^±75 of 1).
    let exponent = largest.log2().floor().clamp(-1000.0, 1000.0);
    2f64.powi(exponent as i32)
}

/// Checks that a series has at least `needed` values, all finite.
pub(crate) fn check_series(y: &[f64], needed: usize) -> Result<(), Undefined> {
    if y.len() < needed {
        return Err(Undefined::TooFew {
            needed,
            found: y.len(),
        });
    }
    if y.iter().any(|v| !v.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    Ok(())
}

/// Checks that `passes[i]` of `decisions[i]` are counts of the same runs.
pub(crate) fn check_counts(passes: &[u64], decisions: &[u64]) -> Result<(), Undefined> {
    if passes.len() != decisions.len() {
        return Err(Undefined::LengthsDiffer);
    }
    if passes.iter().zip(decisions).any(|(x, k)| x > k) {
        return Err(Undefined::MorePassesThanDecisions);
    }
    Ok(())
}

/// All decisions and all passes, if there are decisions of both outcomes.
pub(crate) fn pooled(passes: &[u64], decisions: &[u64]) -> Result<(u64, u64), Undefined> {
    let total: u64 = decisions.iter().sum();
    let passed: u64 = passes.iter().sum();
    if total == 0 {
        return Err(Undefined::NoData);
    }
    if passed == 0 || passed == total {
        return Err(Undefined::NoVariation);
    }
    Ok((total, passed))
}

/// Where runs' decisions sit on their scores, weighted by decisions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Spread {
    /// N = Σkᵢ.
    pub total: f64,
    /// t̄ = Σkᵢtᵢ/N.
    pub t_bar: f64,
    /// Sₜₜ = Σkᵢ(tᵢ − t̄)².
    pub s_tt: f64,
    /// The highest score with decisions less the lowest.
    pub span: f64,
}

impl Spread {
    /// Of runs given as (kᵢ, tᵢ).
    pub fn of(runs: impl Iterator<Item = (u64, f64)> + Clone) -> Self {
        let total: f64 = runs.clone().map(|(k, _)| k as f64).sum();
        let t_bar = runs.clone().map(|(k, t)| k as f64 * t).sum::<f64>() / total;
        let s_tt = runs
            .clone()
            .map(|(k, t)| k as f64 * (t - t_bar).powi(2))
            .sum();
        let (lo, hi) = runs
            .filter(|&(k, _)| k > 0)
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (_, t)| {
                (lo.min(t), hi.max(t))
            });
        Spread {
            total,
            t_bar,
            s_tt,
            span: hi - lo,
        }
    }

    /// Of runs at scores 0, 1, 2, ….
    pub fn by_index(decisions: &[u64]) -> Self {
        Self::of(decisions.iter().enumerate().map(|(i, &k)| (k, i as f64)))
    }
}

/// Why a statistic is undefined for the data given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Undefined {
    /// Input slices of different lengths.
    #[error("inputs of different lengths")]
    LengthsDiffer,
    /// A run with more passes than decisions.
    #[error("a run has more passes than decisions")]
    MorePassesThanDecisions,
    /// No decisions at all.
    #[error("no decisions")]
    NoData,
    /// Every decision the same (pass rate 0 or 1): nothing can change.
    #[error("every decision is the same")]
    NoVariation,
    /// Every run at the same score: no order to test.
    #[error("all runs at the same position")]
    NoSpread,
    /// Too few points.
    #[error("needs at least {needed} points, got {found}")]
    TooFew {
        /// Points needed.
        needed: usize,
        /// Points given.
        found: usize,
    },
    /// Too many points for the computation asked for.
    #[error("at most {limit} points, got {found}")]
    TooMany {
        /// Points allowed.
        limit: usize,
        /// Points given.
        found: usize,
    },
    /// A NaN or infinite value, or a parameter out of range.
    #[error("a value is not finite")]
    NotFinite,
}
