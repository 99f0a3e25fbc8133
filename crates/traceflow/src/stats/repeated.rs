//! A level for a gate that runs again after every run, so that the chance
//! of any false alarm over many evaluations stays at α.

use rand::distr::Distribution;
use rand::rngs::ChaCha8Rng;
use rand::{RngExt, SeedableRng};
use rand_distr::Binomial;

use super::dispersion::{Pair, PairSums};
use super::overdispersed_trend::{choose, p_decline};
use super::step_change::{Scan, MIN_SIDE};
use super::Undefined;

/// Runs a window may hold for the simulation.
pub const MAX_RUNS: usize = 20_000;

/// Histories × evaluations × runs per window the simulation may take (each
/// window's split scan is linear in its runs): 2,000 × 100 × 500 is 10⁸.
pub const MAX_WORK: f64 = 2.5e8;

/// How the level is simulated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RepeatedOptions {
    /// Successive evaluations, one per new run, the bound covers.
    pub evaluations: usize,
    /// Simulated stable histories.
    pub histories: usize,
    /// Seed of the simulation.
    pub seed: u64,
}

impl Default for RepeatedOptions {
    fn default() -> Self {
        RepeatedOptions {
            evaluations: 100,
            histories: 2_000,
            seed: 0x7265_7065_6174,
        }
    }
}

/// The pass rate a level is simulated at: the estimate to the nearest
/// 0.01. The level hardly depends on the rate, and windows a run apart then
/// share it (a caller may keep levels it has simulated).
pub fn simulation_rate(rate: f64) -> f64 {
    ((rate * 100.0).round() / 100.0).clamp(0.01, 0.99)
}

/// The per-evaluation level α′ ≤ α of [`trend_test`](super::trend_test())
/// such that a gate evaluating `evaluations` successive windows of a
/// stable history (each window one run newer) raises at least one false
/// alarm with probability α.
///
/// Simulated: stable histories of `window + evaluations − 1` runs at pass
/// rate `rate`, each run's decisions drawn from `decisions` (the window's
/// own, so a window of n runs), every window tested as the gate would; α′ is
/// the ⌊αM⌋+1-th smallest of the M histories' smallest p-values. The test's
/// z is nearly pivotal (its null distribution hardly depends on the rate),
/// so α′ barely moves with the estimated rate used here.
///
/// Undefined for fewer than 3 runs, more than [`MAX_RUNS`] or more work
/// than [`MAX_WORK`], or a rate of 0 or 1.
pub fn repeated_level(
    decisions: &[u64],
    rate: f64,
    alpha: f64,
    options: &RepeatedOptions,
) -> Result<f64, Undefined> {
    let window = decisions.len();
    if window < 3 {
        return Err(Undefined::TooFew {
            needed: 3,
            found: window,
        });
    }
    if window > MAX_RUNS {
        return Err(Undefined::TooMany {
            limit: MAX_RUNS,
            found: window,
        });
    }
    let work = options.histories as f64 * options.evaluations as f64 * window as f64;
    if work > MAX_WORK {
        // In evaluations: the most this window allows.
        return Err(Undefined::TooMany {
            limit: (MAX_WORK / (options.histories as f64 * window as f64)) as usize,
            found: options.evaluations,
        });
    }
    if !(rate > 0.0 && rate < 1.0 && alpha > 0.0 && alpha < 1.0) || options.histories == 0 {
        return Err(Undefined::NotFinite);
    }
    if options.evaluations <= 1 {
        return Ok(alpha);
    }
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed);
    let runs = window + options.evaluations - 1;
    let mut sums = Prefix::with_capacity(runs);
    let mut smallest = Vec::with_capacity(options.histories);
    let (mut x, mut k) = (vec![0u64; runs], vec![0u64; runs]);
    for _ in 0..options.histories {
        for (x, k) in x.iter_mut().zip(k.iter_mut()) {
            *k = decisions[rng.random_range(0..window)];
            *x = Binomial::new(*k, rate).map_or(0, |b| b.sample(&mut rng));
        }
        sums.fill(&x, &k);
        let least = (0..options.evaluations)
            .map(|start| sums.p_decline(start, start + window))
            .fold(1.0, f64::min);
        smallest.push(least);
    }
    smallest.sort_unstable_by(f64::total_cmp);
    let rank = (alpha * smallest.len() as f64).floor() as usize;
    Ok(smallest[rank.min(smallest.len() - 1)].min(alpha))
}

/// Prefix sums over runs at scores t = 0, 1, …: every window's
/// Cochran–Armitage statistic and dispersion sums in O(1), plus its split
/// scan (for the pair the dispersion leaves out) in O(runs).
struct Prefix {
    decisions: Vec<f64>,
    passes: Vec<f64>,
    decisions_t: Vec<f64>,
    passes_t: Vec<f64>,
    decisions_tt: Vec<f64>,
    /// kᵢ(kᵢ − 1), times t and t²: for the inflation under correlation.
    pairs_in_run: Vec<f64>,
    pairs_in_run_t: Vec<f64>,
    pairs_in_run_tt: Vec<f64>,
    /// Running [`PairSums`], the pair of runs (i − 1, i) added at i + 1
    /// (its product with the pair before it too).
    pair_sums: Vec<PairSums>,
    /// The runs, for each window's split scan.
    run_passes: Vec<u64>,
    run_decisions: Vec<u64>,
    scan: Scan,
    /// The pair ending at each run, reused across histories.
    pairs: Vec<Option<Pair>>,
}

impl Prefix {
    fn with_capacity(runs: usize) -> Self {
        let zeros = vec![0.0; runs + 1];
        Prefix {
            decisions: zeros.clone(),
            passes: zeros.clone(),
            decisions_t: zeros.clone(),
            passes_t: zeros.clone(),
            decisions_tt: zeros.clone(),
            pairs_in_run: zeros.clone(),
            pairs_in_run_t: zeros.clone(),
            pairs_in_run_tt: zeros,
            pair_sums: vec![PairSums::default(); runs + 1],
            run_passes: Vec::with_capacity(runs),
            run_decisions: Vec::with_capacity(runs),
            scan: Scan::new(runs),
            pairs: Vec::with_capacity(runs),
        }
    }

    fn fill(&mut self, x: &[u64], k: &[u64]) {
        self.run_passes.clear();
        self.run_passes.extend_from_slice(x);
        self.run_decisions.clear();
        self.run_decisions.extend_from_slice(k);
        // The pair ending at run i, if it has weight.
        let pairs = &mut self.pairs;
        pairs.clear();
        pairs.resize(x.len(), None);
        for i in 0..x.len() {
            let (xi, ki, t) = (x[i] as f64, k[i] as f64, i as f64);
            self.decisions[i + 1] = self.decisions[i] + ki;
            self.passes[i + 1] = self.passes[i] + xi;
            self.decisions_t[i + 1] = self.decisions_t[i] + ki * t;
            self.passes_t[i + 1] = self.passes_t[i] + xi * t;
            self.decisions_tt[i + 1] = self.decisions_tt[i] + ki * t * t;
            let q = ki * (ki - 1.0);
            self.pairs_in_run[i + 1] = self.pairs_in_run[i] + q;
            self.pairs_in_run_t[i + 1] = self.pairs_in_run_t[i] + q * t;
            self.pairs_in_run_tt[i + 1] = self.pairs_in_run_tt[i] + q * t * t;
            let mut sums = self.pair_sums[i];
            if i > 0 {
                pairs[i] = sums.add(x[i - 1], k[i - 1], x[i], k[i], pairs[i - 1]);
            }
            self.pair_sums[i + 1] = sums;
        }
    }

    /// The window's split-scan τ̂, relative to `start`.
    fn best_split(&mut self, start: usize, end: usize) -> Option<usize> {
        if end - start < 2 * MIN_SIDE {
            return None;
        }
        self.scan
            .best(
                &self.run_passes[start..end],
                &self.run_decisions[start..end],
            )
            .map(|(tau, _)| tau)
    }

    /// The trend test's one-sided p for a decline over runs start..end, as
    /// [`trend_test`](super::trend_test) computes it (1 when undefined).
    fn p_decline(&mut self, start: usize, end: usize) -> f64 {
        let span = |v: &[f64]| v[end] - v[start];
        let n = span(&self.decisions);
        let x = span(&self.passes);
        if n <= 0.0 || x <= 0.0 || x >= n {
            return 1.0;
        }
        let p_bar = x / n;
        let t_bar = span(&self.decisions_t) / n;
        let s_tt = span(&self.decisions_tt) - n * t_bar * t_bar;
        if s_tt <= 1e-9 * n {
            return 1.0;
        }
        let u = span(&self.passes_t) - x * t_bar;
        let pq = p_bar * (1.0 - p_bar);
        let z_plain = u / (pq * s_tt).sqrt();
        // Pairs wholly inside the window were added at start + 2 ..= end;
        // products with a neighbour inside too at start + 3 ..= end.
        let (outer, first, second) = (
            &self.pair_sums[end],
            &self.pair_sums[start + 1],
            &self.pair_sums[(start + 2).min(end)],
        );
        let mut inside = outer.since(first, second);
        // Without the pair across the window's most likely step, as
        // `successive_dispersion` is given it.
        if let Some(tau) = self.best_split(start, end) {
            let at = start + tau;
            let own = self.pair_sums[at + 1].since(&self.pair_sums[at], &self.pair_sums[at]);
            let next =
                self.pair_sums[at + 2].since(&self.pair_sums[at + 1], &self.pair_sums[at + 1]);
            inside = inside.without(&own, &next);
        }
        let extra = span(&self.pairs_in_run_tt) - 2.0 * t_bar * span(&self.pairs_in_run_t)
            + t_bar * t_bar * span(&self.pairs_in_run);
        let (phi, df) = choose(inside.dispersion(pq).ok(), extra / s_tt);
        // The p-value only: the interval's quantile (an iterative inverse
        // for t) is not needed 200,000 times.
        p_decline(z_plain, phi, df).1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::trend_test;

    #[test]
    fn prefix_sums_give_the_trend_test() {
        let x = [18u64, 17, 19, 15, 16, 14, 15, 13, 20, 3, 19, 4];
        let k = [20u64, 20, 20, 18, 20, 19, 20, 20, 20, 20, 20, 20];
        let mut sums = Prefix::with_capacity(x.len());
        sums.fill(&x, &k);
        for (start, end) in [(0, 8), (2, 10), (3, 12), (0, 12)] {
            let slow = trend_test(&x[start..end], &k[start..end], 0.95)
                .unwrap()
                .test
                .p_decline;
            let fast = sums.p_decline(start, end);
            assert!((slow - fast).abs() < 1e-9, "{start}..{end}: {slow} {fast}");
        }
    }

    #[test]
    fn more_evaluations_need_a_smaller_level() {
        let decisions = [3u64; 40];
        let options = RepeatedOptions {
            histories: 1_000,
            ..RepeatedOptions::default()
        };
        let once = repeated_level(
            &decisions,
            0.8,
            0.01,
            &RepeatedOptions {
                evaluations: 1,
                ..options
            },
        )
        .unwrap();
        assert_eq!(once, 0.01);
        let hundred = repeated_level(&decisions, 0.8, 0.01, &options).unwrap();
        assert!(hundred < 0.005 && hundred > 1e-5, "{hundred}");
    }
}
