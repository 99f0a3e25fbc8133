//! Whether runs vary more than binomial noise explains, judged from
//! neighbouring runs so that a trend or a step does not count as noise.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::Undefined;

/// The overdispersion of a series of runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dispersion {
    /// φ̂: the variance of neighbouring runs' differences over what binomial
    /// noise gives (about 1 without overdispersion).
    pub estimate: f64,
    /// Neighbouring pairs of runs with decisions, m.
    pub pairs: usize,
    /// Effective degrees of freedom of φ̂ (Satterthwaite; 2m²/(3m − 1) for
    /// runs of equal size).
    pub df: f64,
    /// One-sided p-value of "no overdispersion" (φ = 1).
    pub p_value: f64,
    /// ρ̂ ≥ 0: the correlation of decisions within a run, by moments, under
    /// which a run of k decisions varies 1 + (k − 1)ρ times as much as
    /// binomial noise.
    pub rho: f64,
}

/// The successive-difference dispersion of runs with `passes[i]` of
/// `decisions[i]` passed.
///
/// With yᵢ = xᵢ/kᵢ and p̄ the pooled rate, over the m pairs j of
/// consecutive runs (i, i + 1) that both have decisions:
/// Tⱼ = (yᵢ₊₁ − yᵢ)² / (p̄(1 − p̄)(1/kᵢ + 1/kᵢ₊₁)), weighted by
/// wⱼ = (kᵢ + kᵢ₊₁)/2: φ̂ = Σwⱼ Tⱼ / Σwⱼ. Each Tⱼ is about χ²₁ under
/// binomial noise, whatever the mean does slowly (a trend adds its slope²,
/// a step one term) — unlike the residuals of a fitted line, which a step
/// inflates. The weights follow the trend test, whose variance weighs each
/// run by its decisions: under intra-run correlation ρ a run's inflation is
/// 1 + (k − 1)ρ, largest for the largest runs. Neighbouring terms share a
/// run (correlation −½ between differences, so covariance ½ between their
/// χ²₁ squares): Var(Σwⱼ Tⱼ) ≈ 2Σwⱼ² + Σwⱼwⱼ₊₁, and φ̂ is referred to a
/// scaled χ² with Satterthwaite's ν = 2(Σwⱼ)²/(2Σwⱼ² + Σwⱼwⱼ₊₁):
/// p = P(χ²_ν > νφ̂). Von Neumann et al., "The mean square successive
/// difference", Ann. Math. Statist. 12 (1941) 153–162; Satterthwaite,
/// Biometrics Bulletin 2 (1946) 110–114.
///
/// Undefined without two neighbouring runs with decisions, or when every
/// decision is the same.
pub fn successive_dispersion(passes: &[u64], decisions: &[u64]) -> Result<Dispersion, Undefined> {
    if passes.len() != decisions.len() {
        return Err(Undefined::LengthsDiffer);
    }
    if passes.iter().zip(decisions).any(|(x, k)| x > k) {
        return Err(Undefined::MorePassesThanDecisions);
    }
    let total: u64 = decisions.iter().sum();
    let passed: u64 = passes.iter().sum();
    if total == 0 {
        return Err(Undefined::NoData);
    }
    if passed == 0 || passed == total {
        return Err(Undefined::NoVariation);
    }
    let mut sums = PairSums::default();
    let mut previous = None;
    for i in 1..passes.len() {
        previous = sums.add(
            passes[i - 1],
            decisions[i - 1],
            passes[i],
            decisions[i],
            previous,
        );
    }
    let p_bar = passed as f64 / total as f64;
    sums.dispersion(p_bar * (1.0 - p_bar))
}

/// The trend test's variance factor under intra-run correlation ρ:
/// φ = Σkᵢ(1 + (kᵢ − 1)ρ)(tᵢ − t̄)² / Σkᵢ(tᵢ − t̄)² at scores tᵢ = i, the
/// inflation of Var(U) for U = Σxᵢ(tᵢ − t̄) (Williams, "Extra-binomial
/// variation in logistic linear models", Applied Statistics 31 (1982)
/// 144–148). 1 when the runs have no spread.
pub fn trend_inflation(decisions: &[u64], rho: f64) -> f64 {
    let total: f64 = decisions.iter().map(|&k| k as f64).sum();
    if total <= 0.0 {
        return 1.0;
    }
    let t_bar = decisions
        .iter()
        .enumerate()
        .map(|(i, &k)| i as f64 * k as f64)
        .sum::<f64>()
        / total;
    let (mut plain, mut extra) = (0.0, 0.0);
    for (i, &k) in decisions.iter().enumerate() {
        let (k, c2) = (k as f64, (i as f64 - t_bar).powi(2));
        plain += k * c2;
        extra += k * (k - 1.0) * c2;
    }
    if plain > 0.0 {
        1.0 + rho * extra / plain
    } else {
        1.0
    }
}

/// The sums φ̂ and ν are made of, over neighbouring pairs.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct PairSums {
    /// Σ wⱼ Tⱼ, Tⱼ without its 1/(p̄(1 − p̄)).
    pub weighted: f64,
    /// Σ wⱼ.
    pub weights: f64,
    /// Σ wⱼ².
    pub squares: f64,
    /// Σ wⱼ wⱼ₊₁ over neighbouring pairs.
    pub neighbours: f64,
    /// m.
    pub pairs: usize,
    /// Σ (yᵢ₊₁ − yᵢ)², for ρ̂.
    pub squared_differences: f64,
    /// Σ (1/kᵢ + 1/kᵢ₊₁): binomial noise's share of the differences.
    pub inverse_sizes: f64,
}

impl PairSums {
    /// Adds the pair of runs (x0 of k0, x1 of k1), if both have decisions;
    /// `previous` is the weight of the pair before it (sharing run x0), if
    /// that was added. Returns this pair's weight.
    pub fn add(
        &mut self,
        x0: u64,
        k0: u64,
        x1: u64,
        k1: u64,
        previous: Option<f64>,
    ) -> Option<f64> {
        if k0 == 0 || k1 == 0 {
            return None;
        }
        let (x0, k0, x1, k1) = (x0 as f64, k0 as f64, x1 as f64, k1 as f64);
        let w = (k0 + k1) / 2.0;
        let squared = (x1 / k1 - x0 / k0).powi(2);
        let inverse = 1.0 / k0 + 1.0 / k1;
        let term = squared / inverse;
        self.squared_differences += squared;
        self.inverse_sizes += inverse;
        self.weighted += w * term;
        self.weights += w;
        self.squares += w * w;
        self.neighbours += previous.unwrap_or(0.0) * w;
        self.pairs += 1;
        Some(w)
    }

    /// φ̂ and its test, `pq` = p̄(1 − p̄).
    pub fn dispersion(&self, pq: f64) -> Result<Dispersion, Undefined> {
        if self.pairs == 0 || self.weights <= 0.0 {
            return Err(Undefined::TooFew {
                needed: 2,
                found: self.pairs,
            });
        }
        let estimate = self.weighted / self.weights / pq;
        let df = 2.0 * self.weights * self.weights / (2.0 * self.squares + self.neighbours);
        let p_value = ChiSquared::new(df).map_or(1.0, |chi| chi.sf(df * estimate));
        // E[(yᵢ₊₁ − yᵢ)²] = pq[(1/kᵢ + 1/kᵢ₊₁) + ρ(2 − 1/kᵢ − 1/kᵢ₊₁)].
        let correlated = 2.0 * self.pairs as f64 - self.inverse_sizes;
        let rho = if correlated > 0.0 {
            ((self.squared_differences / pq - self.inverse_sizes) / correlated).clamp(0.0, 1.0)
        } else {
            0.0
        };
        Ok(Dispersion {
            estimate,
            pairs: self.pairs,
            df,
            p_value,
            rho,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_looking_runs_are_not_overdispersed() {
        let passes = [16, 17, 15, 16, 18, 16, 15, 17, 16, 16];
        let d = successive_dispersion(&passes, &[20; 10]).unwrap();
        assert!(d.estimate < 1.0, "{d:?}");
        assert!(d.p_value > 0.5, "{d:?}");
        assert_eq!(d.pairs, 9);
        assert!((d.df - 2.0 * 81.0 / 26.0).abs() < 1e-12);
    }

    #[test]
    fn alternating_runs_are_and_a_step_is_not() {
        let wild = [20, 4, 19, 3, 20, 5, 18, 2, 20, 4];
        let d = successive_dispersion(&wild, &[20; 10]).unwrap();
        assert!(d.estimate > 10.0 && d.p_value < 1e-6, "{d:?}");
        // A clean step: one large difference among nine.
        let step = [18, 18, 18, 18, 18, 12, 12, 12, 12, 12];
        let d = successive_dispersion(&step, &[20; 10]).unwrap();
        assert!(d.p_value > 0.05, "{d:?}");
    }

    #[test]
    fn the_sum_is_as_written() {
        // p̄ = 0.5: D = [(0 − 1)² / (1/2 + 1/2)] / 0.25 = 4, one pair.
        let d = successive_dispersion(&[2, 0], &[2, 2]).unwrap();
        assert!((d.estimate - 4.0).abs() < 1e-15);
        assert_eq!(
            successive_dispersion(&[1, 0, 0], &[1, 0, 1]),
            Err(Undefined::TooFew {
                needed: 2,
                found: 0
            })
        );
        assert_eq!(
            successive_dispersion(&[3, 3], &[3, 3]),
            Err(Undefined::NoVariation)
        );
    }
}
