//! Accumulated evidence for a drop: a CUSUM whose alarm threshold bounds
//! the false alarms of a gate that is run again after every run.

use rand::distr::Distribution;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::Binomial;

use super::Undefined;

/// Runs a window may hold for the threshold's simulation, whose cost grows
/// with histories × evaluations × runs.
pub const MAX_RUNS: usize = 10_000;

/// The CUSUM of a window's recent half against its older half.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cusum {
    /// The in-control pass rate p₀: the pooled rate of the window's older
    /// half (its first ⌊n/2⌋ runs).
    pub p0: f64,
    /// The pass rate to detect, p₁ = p₀ − min_drop.
    pub p1: f64,
    /// Runs in the reference half.
    pub reference_runs: usize,
    /// The CUSUM at the window's newest run, over its recent half.
    pub statistic: f64,
}

/// The binomial CUSUM over runs (x_i of k_i passed), from 0:
/// S = max(0, S + x_i·ln(p₁/p₀) + (k_i − x_i)·ln((1 − p₁)/(1 − p₀))), the
/// per-decision Bernoulli CUSUM summed over each run's decisions (whose
/// order within a run is not recorded). Page, "Continuous inspection
/// schemes", Biometrika 41 (1954) 100–115; Reynolds & Stoumbos, "A CUSUM
/// chart for monitoring a proportion when inspecting continuously",
/// J. Quality Technology 31 (1999) 87–108.
pub fn binomial_cusum(passes: &[u64], decisions: &[u64], p0: f64, p1: f64) -> f64 {
    let (pass_weight, fail_weight) = weights(p0, p1);
    passes.iter().zip(decisions).fold(0.0, |s: f64, (&x, &k)| {
        (s + x as f64 * pass_weight + (k - x) as f64 * fail_weight).max(0.0)
    })
}

fn weights(p0: f64, p1: f64) -> (f64, f64) {
    ((p1 / p0).ln(), ((1.0 - p1) / (1.0 - p0)).ln())
}

/// p₀ of a reference: its pooled rate kept 1/(2K) from 0 and 1, so one fail
/// after a perfect record is not infinite evidence; p₁ likewise above 0.
fn rates(passes: u64, decisions: u64, min_drop: f64) -> (f64, f64) {
    let floor = 0.5 / decisions as f64;
    let p0 = (passes as f64 / decisions as f64).clamp(floor, 1.0 - floor);
    let p1 = (p0 - min_drop).max(floor.min(p0 / 2.0));
    (p0, p1)
}

/// The window's CUSUM: p₀ from its older half, S over its recent half.
///
/// Undefined with fewer than 4 runs, or without decisions in either half.
pub fn window_cusum(passes: &[u64], decisions: &[u64], min_drop: f64) -> Result<Cusum, Undefined> {
    let n = passes.len();
    if decisions.len() != n {
        return Err(Undefined::LengthsDiffer);
    }
    if passes.iter().zip(decisions).any(|(x, k)| x > k) {
        return Err(Undefined::MorePassesThanDecisions);
    }
    if n < 4 {
        return Err(Undefined::TooFew {
            needed: 4,
            found: n,
        });
    }
    let half = n / 2;
    let reference: u64 = decisions[..half].iter().sum();
    if reference == 0 || decisions[half..].iter().all(|&k| k == 0) {
        return Err(Undefined::NoData);
    }
    let (p0, p1) = rates(passes[..half].iter().sum(), reference, min_drop);
    Ok(Cusum {
        p0,
        p1,
        reference_runs: half,
        statistic: binomial_cusum(&passes[half..], &decisions[half..], p0, p1),
    })
}

/// How the alarm threshold is simulated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ThresholdOptions {
    /// Successive evaluations, one per new run, the bound covers.
    pub evaluations: usize,
    /// Simulated stable histories.
    pub histories: usize,
    /// Seed of the simulation.
    pub seed: u64,
}

impl Default for ThresholdOptions {
    fn default() -> Self {
        ThresholdOptions {
            evaluations: 100,
            histories: 4_000,
            seed: 0x6375_7375_6d00,
        }
    }
}

/// The alarm threshold h: a gate that fails when [`window_cusum`]'s
/// statistic exceeds h raises at least one false alarm in `evaluations`
/// successive windows of a stable history with probability at most
/// `alpha` (as simulated).
///
/// Each simulated history has `window + evaluations − 1` runs at the pass
/// rate `p0`, their decision counts drawn from `decisions` (the window's
/// own); every window of it is evaluated as the gate would, p₀ estimated
/// afresh, and the history's largest statistic kept. h is the ⌈(1 − α)M⌉-th
/// smallest of the M maxima. Undefined for a window over [`MAX_RUNS`] runs.
pub fn cusum_threshold(
    decisions: &[u64],
    p0: f64,
    min_drop: f64,
    alpha: f64,
    options: &ThresholdOptions,
) -> Result<f64, Undefined> {
    let window = decisions.len();
    if window < 4 {
        return Err(Undefined::TooFew {
            needed: 4,
            found: window,
        });
    }
    if window > MAX_RUNS {
        return Err(Undefined::TooMany {
            limit: MAX_RUNS,
            found: window,
        });
    }
    if !(p0 > 0.0 && p0 < 1.0 && alpha > 0.0 && alpha < 1.0) || options.histories == 0 {
        return Err(Undefined::NotFinite);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let runs = window + options.evaluations.max(1) - 1;
    let half = window / 2;
    let mut k = vec![0u64; runs];
    let mut x = vec![0u64; runs];
    let mut maxima = Vec::with_capacity(options.histories);
    for _ in 0..options.histories {
        for (k, x) in k.iter_mut().zip(x.iter_mut()) {
            *k = decisions[rand::Rng::random_range(&mut rng, 0..window)];
            *x = Binomial::new(*k, p0).map_or(0, |b| b.sample(&mut rng));
        }
        let mut largest: f64 = 0.0;
        let mut reference = (x[..half].iter().sum::<u64>(), k[..half].iter().sum::<u64>());
        for start in 0..=runs - window {
            if start > 0 {
                reference.0 = reference.0 + x[start + half - 1] - x[start - 1];
                reference.1 = reference.1 + k[start + half - 1] - k[start - 1];
            }
            if reference.1 == 0 {
                continue;
            }
            let (q0, q1) = rates(reference.0, reference.1, min_drop);
            let range = start + half..start + window;
            largest = largest.max(binomial_cusum(&x[range.clone()], &k[range], q0, q1));
        }
        maxima.push(largest);
    }
    maxima.sort_unstable_by(f64::total_cmp);
    let rank = ((1.0 - alpha) * maxima.len() as f64).ceil() as usize;
    Ok(maxima[rank.clamp(1, maxima.len()) - 1])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_at_the_reference_rate_keep_the_statistic_low() {
        let stable = window_cusum(&[16; 20], &[20; 20], 0.05).unwrap();
        assert!((stable.p0 - 0.8).abs() < 1e-12 && (stable.p1 - 0.75).abs() < 1e-12);
        assert_eq!(stable.reference_runs, 10);
        assert_eq!(stable.statistic, 0.0);
        let mut passes = vec![16u64; 10];
        passes.extend([13u64; 10]);
        let dropped = window_cusum(&passes, &[20; 20], 0.05).unwrap();
        // Ten runs of 13/20 against p0 0.8, p1 0.75: each adds
        // 13 ln(0.75/0.8) + 7 ln(0.25/0.2).
        let per_run = 13.0 * (0.75f64 / 0.8).ln() + 7.0 * (0.25f64 / 0.2).ln();
        assert!((dropped.statistic - 10.0 * per_run).abs() < 1e-9);
    }

    #[test]
    fn a_perfect_reference_is_not_infinite_evidence() {
        let mut passes = vec![10u64; 4];
        passes.extend([9u64; 4]);
        let c = window_cusum(&passes, &[10; 8], 0.05).unwrap();
        assert!(c.statistic.is_finite() && c.statistic > 0.0, "{c:?}");
    }

    #[test]
    fn the_threshold_bounds_false_alarms_it_was_simulated_for() {
        let decisions = [3u64; 40];
        let options = ThresholdOptions {
            histories: 400,
            ..ThresholdOptions::default()
        };
        let h = cusum_threshold(&decisions, 0.8, 0.05, 0.05, &options).unwrap();
        // A fresh simulation with another seed: about 5% of histories alarm.
        let check = ThresholdOptions {
            seed: 99,
            ..options
        };
        let h_check = cusum_threshold(&decisions, 0.8, 0.05, 0.05, &check).unwrap();
        assert!(h > 1.0 && (h - h_check).abs() < 0.35 * h, "{h} {h_check}");
        let stricter = cusum_threshold(&decisions, 0.8, 0.05, 0.01, &options).unwrap();
        assert!(stricter > h);
        assert!(matches!(
            cusum_threshold(&vec![1; MAX_RUNS + 1], 0.8, 0.05, 0.01, &options),
            Err(Undefined::TooMany { .. })
        ));
    }
}
