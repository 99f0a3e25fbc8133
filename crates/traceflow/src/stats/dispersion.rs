//! Whether runs vary more than binomial noise explains, judged from
//! neighbouring runs so that a trend or a step does not count as noise.

use statrs::distribution::{ChiSquared, ContinuousCDF};

use super::{check_counts, pooled, Spread, Undefined};

/// The intra-run correlation the weights are tuned for. Only efficiency
/// depends on it, not the estimate's expectation.
pub const WORKING_RHO: f64 = 0.05;

/// The overdispersion of a series of runs, as a correlation of the
/// decisions within a run: a run of k decisions then varies 1 + (k − 1)ρ
/// times as much as binomial noise (the beta-binomial model).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Dispersion {
    /// ρ̂ ∈ [0, 1].
    pub rho: f64,
    /// Var(ρ̂), at ρ = ρ̂.
    pub rho_variance: f64,
    /// Neighbouring pairs of runs that carry information on ρ (both with
    /// decisions, not both single decisions).
    pub pairs: usize,
    /// One-sided p-value of ρ = 0 (binomial variation).
    pub p_value: f64,
}

/// The intra-run correlation of runs with `passes[i]` of `decisions[i]`
/// passed, from the differences of neighbouring runs.
///
/// With yᵢ = xᵢ/kᵢ, p̄ the pooled rate, and for the pair j of runs (i, i + 1)
/// dⱼ = yᵢ₊₁ − yᵢ, hⱼ = 1/kᵢ + 1/kᵢ₊₁, gⱼ = 2 − hⱼ:
/// E\[dⱼ²\]/(p̄(1 − p̄)) = hⱼ + ρgⱼ whatever the mean does slowly (a trend
/// adds its slope², a step one term) — unlike the residuals of a fitted
/// line, which a step inflates. ρ̂ is the weighted least-squares solution
/// Σwⱼ(dⱼ²/p̄q̄ − hⱼ) / Σwⱼgⱼ with wⱼ = gⱼ/(hⱼ + ρ₀gⱼ)², ρ₀ = [`WORKING_RHO`]
/// (each term's variance is 2(hⱼ + ρgⱼ)²; pairs of single decisions,
/// g = 0, say nothing about ρ). Neighbouring pairs share a run i, whose
/// variance 1/kᵢ + ρ(1 − 1/kᵢ) makes their squares covary by twice its
/// square; Var(ρ̂) adds those terms. The test of ρ = 0 refers Σwⱼdⱼ²/p̄q̄ to
/// a χ² scaled to its null mean Σwⱼhⱼ and variance, with Satterthwaite's
/// degrees of freedom.
///
/// Sources: von Neumann et al., "The mean square successive difference",
/// Ann. Math. Statist. 12 (1941) 153–162; Williams, "Extra-binomial
/// variation in logistic linear models", Applied Statistics 31 (1982)
/// 144–148; Satterthwaite, Biometrics Bulletin 2 (1946) 110–114.
///
/// `skip`: the first run of a step to leave out, the pair that straddles it
/// (runs skip − 1 and skip): a step is a change of the mean, not noise, and
/// in large runs its one difference would otherwise read as overdispersion.
/// The trend test passes the split scan's τ̂ ([`best_split`](super::step_change::best_split)).
///
/// Undefined without a neighbouring pair that carries information, or when
/// every decision is the same.
pub fn successive_dispersion(
    passes: &[u64],
    decisions: &[u64],
    skip: Option<usize>,
) -> Result<Dispersion, Undefined> {
    check_counts(passes, decisions)?;
    let (total, passed) = pooled(passes, decisions)?;
    let mut sums = PairSums::default();
    let mut previous = None;
    for i in 1..passes.len() {
        if Some(i) == skip {
            previous = None;
            continue;
        }
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

/// The trend test's variance factor is 1 + ρR; this is R =
/// Σkᵢ(kᵢ − 1)(tᵢ − t̄)² / Σkᵢ(tᵢ − t̄)² at scores tᵢ = i: the inflation of
/// Var(U), U = Σxᵢ(tᵢ − t̄), per unit of ρ. 0 when the runs have no spread.
pub fn trend_inflation_per_rho(decisions: &[u64]) -> f64 {
    let Spread {
        total, t_bar, s_tt, ..
    } = Spread::by_index(decisions);
    if total <= 0.0 || s_tt <= 0.0 {
        return 0.0;
    }
    let extra: f64 = decisions
        .iter()
        .enumerate()
        .map(|(i, &k)| {
            let k = k as f64;
            k * (k - 1.0) * (i as f64 - t_bar).powi(2)
        })
        .sum();
    extra / s_tt
}

/// A pair of neighbouring runs as the next pair needs it: its weight.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Pair {
    weight: f64,
}

/// The sums ρ̂, its variance and its test are made of, over neighbouring
/// pairs (differences of running sums give a window's).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct PairSums {
    /// Σ w d².
    pub wd2: f64,
    /// Σ w h.
    wh: f64,
    /// Σ w g.
    wg: f64,
    /// Σ w²h², Σ w²hg, Σ w²g².
    w2hh: f64,
    w2hg: f64,
    w2gg: f64,
    /// Over neighbouring pairs sharing run i (s = 1/kᵢ, u = 1 − s):
    /// Σ wⱼwⱼ₊₁s², Σ wⱼwⱼ₊₁su, Σ wⱼwⱼ₊₁u².
    nss: f64,
    nsu: f64,
    nuu: f64,
    /// Pairs with weight.
    pairs: usize,
}

impl PairSums {
    /// Adds the pair of runs (x0 of k0, x1 of k1); `previous` is the pair
    /// ending at run x0, if it was added. Returns this pair, if it has
    /// weight.
    pub fn add(
        &mut self,
        x0: u64,
        k0: u64,
        x1: u64,
        k1: u64,
        previous: Option<Pair>,
    ) -> Option<Pair> {
        if k0 == 0 || k1 == 0 {
            return None;
        }
        let (k0f, k1f) = (k0 as f64, k1 as f64);
        let h = 1.0 / k0f + 1.0 / k1f;
        let g = 2.0 - h;
        if g <= 0.0 {
            return None;
        }
        let w = g / (h + WORKING_RHO * g).powi(2);
        let d2 = (x1 as f64 / k1f - x0 as f64 / k0f).powi(2);
        self.wd2 += w * d2;
        self.wh += w * h;
        self.wg += w * g;
        self.w2hh += w * w * h * h;
        self.w2hg += w * w * h * g;
        self.w2gg += w * w * g * g;
        if let Some(previous) = previous {
            let (s, u) = (1.0 / k0f, 1.0 - 1.0 / k0f);
            let ww = previous.weight * w;
            self.nss += ww * s * s;
            self.nsu += ww * s * u;
            self.nuu += ww * u * u;
        }
        self.pairs += 1;
        Some(Pair { weight: w })
    }

    /// These sums without one pair: `own` is what adding it added (its
    /// terms and its product with the pair before), `next` what adding the
    /// pair after it added (whose product with it goes too).
    pub fn without(&self, own: &PairSums, next: &PairSums) -> PairSums {
        let mut rest = self.since(own, &PairSums::default());
        rest.nss -= own.nss + next.nss;
        rest.nsu -= own.nsu + next.nsu;
        rest.nuu -= own.nuu + next.nuu;
        rest
    }

    /// The sums of the pairs added after `first` (all but the neighbour
    /// products) and after `second` (those): a window's, from running sums.
    pub fn since(&self, first: &PairSums, second: &PairSums) -> PairSums {
        PairSums {
            wd2: self.wd2 - first.wd2,
            wh: self.wh - first.wh,
            wg: self.wg - first.wg,
            w2hh: self.w2hh - first.w2hh,
            w2hg: self.w2hg - first.w2hg,
            w2gg: self.w2gg - first.w2gg,
            nss: self.nss - second.nss,
            nsu: self.nsu - second.nsu,
            nuu: self.nuu - second.nuu,
            pairs: self.pairs - first.pairs,
        }
    }

    /// ρ̂, its variance and test; `pq` = p̄(1 − p̄).
    pub fn dispersion(&self, pq: f64) -> Result<Dispersion, Undefined> {
        // Running sums lose a little to rounding: a window without pairs
        // may hold a weight of 1e-12.
        if self.pairs == 0 || self.wg <= 1e-9 || self.wh <= 1e-9 || pq <= 0.0 {
            return Err(Undefined::TooFew {
                needed: 1,
                found: self.pairs,
            });
        }
        let observed = self.wd2 / pq;
        let rho = ((observed - self.wh) / self.wg).clamp(0.0, 1.0);
        let variance = |r: f64| {
            2.0 * (self.w2hh + 2.0 * r * self.w2hg + r * r * self.w2gg)
                + 4.0 * (self.nss + 2.0 * r * self.nsu + r * r * self.nuu)
        };
        let rho_variance = (variance(rho) / (self.wg * self.wg)).max(0.0);
        // Under ρ = 0: mean Σwh, variance as above at 0.
        let null_variance = variance(0.0);
        let p_value = if null_variance > 0.0 {
            let df = 2.0 * self.wh * self.wh / null_variance;
            ChiSquared::new(df).map_or(1.0, |chi| chi.sf(df * observed / self.wh))
        } else {
            1.0
        };
        Ok(Dispersion {
            rho,
            rho_variance,
            pairs: self.pairs,
            p_value,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binomial_looking_runs_are_not_overdispersed() {
        let passes = [16, 17, 15, 16, 18, 16, 15, 17, 16, 16];
        let d = successive_dispersion(&passes, &[20; 10], None).unwrap();
        assert_eq!(d.rho, 0.0, "{d:?}");
        assert!(d.p_value > 0.5, "{d:?}");
        assert_eq!(d.pairs, 9);
    }

    #[test]
    fn alternating_runs_are_and_a_step_is_not() {
        let wild = [20, 4, 19, 3, 20, 5, 18, 2, 20, 4];
        let d = successive_dispersion(&wild, &[20; 10], None).unwrap();
        assert!(d.rho > 0.3 && d.p_value < 1e-6, "{d:?}");
        // A clean step: one large difference among nine.
        let step = [48, 48, 47, 48, 48, 30, 30, 31, 30, 30];
        let with = successive_dispersion(&step, &[50; 10], None).unwrap();
        assert!(with.p_value < 0.05, "{with:?}");
        let skipped = successive_dispersion(&step, &[50; 10], Some(5)).unwrap();
        assert_eq!(skipped.pairs, 8);
        assert!(skipped.p_value > 0.5 && skipped.rho == 0.0, "{skipped:?}");
    }

    #[test]
    fn equal_runs_give_the_moment_estimate() {
        // Runs of 2: h = 1, g = 1, so ρ̂ = mean(d²)/p̄q̄ − 1. p̄ = 0.5;
        // differences 1, 1, 0: mean d² = 2/3 → ρ̂ = 8/3 − 1, clamped to 1.
        let d = successive_dispersion(&[2, 0, 2, 2], &[2; 4], None).unwrap();
        assert_eq!(d.rho, 1.0);
        // Differences 0.5, 0, 0: mean d² = 1/12 → 1/3 − 1 < 0 → 0.
        let d = successive_dispersion(&[2, 1, 1, 1], &[2; 4], None).unwrap();
        assert_eq!(d.rho, 0.0);
    }

    #[test]
    fn single_decisions_say_nothing_about_correlation() {
        assert_eq!(
            successive_dispersion(&[1, 0, 1, 1], &[1; 4], None),
            Err(Undefined::TooFew {
                needed: 1,
                found: 0
            })
        );
        assert_eq!(
            successive_dispersion(&[3, 3], &[3, 3], None),
            Err(Undefined::NoVariation)
        );
    }

    #[test]
    fn inflation_per_rho_weighs_large_runs() {
        // Equal runs of 20: R = k − 1.
        assert!((trend_inflation_per_rho(&[20; 10]) - 19.0).abs() < 1e-12);
        assert_eq!(trend_inflation_per_rho(&[1; 10]), 0.0);
    }
}
