//! Seeded simulation of the verdict rules: false alarms on stable histories,
//! power on declining ones, the step's location, and what happens when a
//! gate runs again after every run.
//!
//! The rules are the shipped ones ([`assess`]); `examples/simulate.rs`
//! prints the tables of `docs/statistics.md`, and a test runs a small grid.

use std::collections::HashMap;

use rand::distr::Distribution;
use rand::rngs::ChaCha8Rng;
use rand::{Rng, RngExt, SeedableRng};
use rand_distr::{Beta, Binomial};
use statrs::distribution::{ContinuousCDF, Normal};

use crate::stats::{
    cochran_armitage, repeated_level, simulation_rate, step_change, trend_inflation_per_rho,
    RepeatedOptions, StepOptions,
};
use crate::trend::{assess, Method, Verdict, VerdictOptions};

/// Decisions per run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PerRun {
    /// Every run has this many.
    Fixed(u64),
    /// Uniform on lo..=hi, drawn per run.
    Uniform(u64, u64),
}

impl PerRun {
    fn draw(self, rng: &mut impl Rng) -> u64 {
        match self {
            PerRun::Fixed(k) => k,
            PerRun::Uniform(lo, hi) => rng.random_range(lo..=hi),
        }
    }

    /// The fewest decisions a run can have.
    pub fn least(self) -> u64 {
        match self {
            PerRun::Fixed(k) | PerRun::Uniform(k, _) => k,
        }
    }

    /// "3" or "1–50".
    pub fn label(self) -> String {
        match self {
            PerRun::Fixed(k) => k.to_string(),
            PerRun::Uniform(lo, hi) => format!("{lo}–{hi}"),
        }
    }
}

/// The true pass rate along the window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shape {
    /// p throughout.
    Stable,
    /// From p at the first run to p − drop at the last, linearly.
    Ramp(f64),
    /// p before the middle run, p − drop from it on.
    Step(f64),
}

impl Shape {
    /// "stable", "ramp −15", "step −15".
    pub fn label(self) -> String {
        match self {
            Shape::Stable => "stable".to_owned(),
            Shape::Ramp(d) => format!("ramp −{:.0}", 100.0 * d),
            Shape::Step(d) => format!("step −{:.0}", 100.0 * d),
        }
    }
}

/// One cell of the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cell {
    /// Pass rate at the start.
    pub p: f64,
    /// Runs in the window.
    pub runs: usize,
    /// Decisions per run.
    pub per_run: PerRun,
    /// Intra-run correlation: each run's rate is Beta with mean the true
    /// rate and 1/(a + b + 1) = ρ (0: plain binomial).
    pub rho: f64,
    /// The true rates.
    pub shape: Shape,
}

impl Cell {
    /// Run i's true pass rate.
    pub fn rate(&self, i: usize) -> f64 {
        let n = self.runs;
        match self.shape {
            Shape::Stable => self.p,
            Shape::Ramp(d) => self.p - d * i as f64 / (n.max(2) - 1) as f64,
            Shape::Step(d) if i >= n / 2 => self.p - d,
            Shape::Step(_) => self.p,
        }
    }

    /// One history: passes and decisions per run.
    pub fn history(&self, rng: &mut impl Rng) -> (Vec<u64>, Vec<u64>) {
        let mut passes = Vec::with_capacity(self.runs);
        let mut decisions = Vec::with_capacity(self.runs);
        for i in 0..self.runs {
            let k = self.per_run.draw(rng);
            passes.push(draw_passes(rng, k, self.rate(i), self.rho));
            decisions.push(k);
        }
        (passes, decisions)
    }

    /// The variance factor of U = Σxᵢ(tᵢ − t̄) over binomial noise that the
    /// intra-run correlation causes, Σkᵢ(1 + (kᵢ − 1)ρ)(tᵢ − t̄)² /
    /// Σkᵢ(tᵢ − t̄)²: what the oracle test knows and `auto` estimates.
    pub fn true_dispersion(&self, decisions: &[u64]) -> f64 {
        1.0 + self.rho * trend_inflation_per_rho(decisions)
    }
}

/// Passes of k decisions at rate p, beta-binomial with correlation ρ.
fn draw_passes(rng: &mut impl Rng, k: u64, p: f64, rho: f64) -> u64 {
    let p = p.clamp(0.0, 1.0);
    let rate = if rho > 0.0 && p > 0.0 && p < 1.0 {
        let total = 1.0 / rho - 1.0;
        Beta::new(p * total, (1.0 - p) * total).map_or(p, |b| b.sample(rng))
    } else {
        p
    };
    Binomial::new(k, rate).map_or(0, |b| b.sample(rng))
}

/// What the rules said over a cell's histories.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CellResult {
    /// Histories simulated.
    pub reps: u64,
    /// The proposal's rule (OLS slope below −0.01/run).
    pub ols: u64,
    /// `auto` regressions.
    pub auto: u64,
    /// `auto` "insufficient data" verdicts.
    pub insufficient: u64,
    /// Cochran–Armitage at α with the true dispersion: the oracle.
    pub oracle: u64,
    /// Histories whose step test found a step at α.
    pub steps: u64,
    /// Of those, the step within ±2 runs of the true one (step shapes).
    pub steps_near: u64,
}

impl CellResult {
    /// A count as a share of the histories.
    pub fn rate(&self, count: u64) -> f64 {
        count as f64 / self.reps.max(1) as f64
    }
}

/// `auto` at `alpha`, computing only what its verdict needs.
fn verdict_only(alpha: f64) -> VerdictOptions {
    VerdictOptions {
        alpha,
        verdict_only: true,
        ..VerdictOptions::default()
    }
}

/// Permutations of the simulation's step test: p < 0.01 needs at least 100;
/// fewer than the gate's 9,999 keep the grid affordable.
pub const STEP_PERMUTATIONS: usize = 999;

/// Simulates `reps` histories of a cell, seeded, with the rules at level
/// `alpha`.
pub fn run_cell(cell: &Cell, reps: u64, alpha: f64, seed: u64) -> CellResult {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let options = verdict_only(alpha);
    let step_options = StepOptions {
        permutations: STEP_PERMUTATIONS,
        stop_at: Some(alpha),
        ..StepOptions::default()
    };
    let normal = Normal::standard();
    let scores: Vec<f64> = (0..cell.runs).map(|i| i as f64).collect();
    let mut result = CellResult {
        reps,
        ..CellResult::default()
    };
    for _ in 0..reps {
        let (passes, decisions) = cell.history(&mut rng);
        let stats = assess(&passes, &decisions, &options);
        result.ols += u64::from(
            stats
                .evidence
                .ols()
                .is_some_and(|o| o.slope < -options.threshold),
        );
        match stats.verdict {
            Verdict::Regression => result.auto += 1,
            Verdict::InsufficientData => result.insufficient += 1,
            Verdict::Stable | Verdict::Improvement | Verdict::NotSignificant => {}
        }
        if let Ok(ca) = cochran_armitage(&passes, &decisions, &scores, 0.95) {
            // Undo the estimated dispersion, apply the true one.
            let z = ca.z * ca.dispersion.sqrt() / cell.true_dispersion(&decisions).sqrt();
            result.oracle += u64::from(normal.cdf(z) < alpha);
        }
        if matches!(cell.shape, Shape::Step(_)) && stats.verdict == Verdict::Regression {
            if let Ok(step) = step_change(&passes, &decisions, &step_options) {
                if step.p_value < alpha {
                    result.steps += 1;
                    let truth = cell.runs / 2;
                    result.steps_near += u64::from(step.run_index.abs_diff(truth) <= 2);
                }
            }
        }
    }
    result
}

/// A gate run after every new run on a sliding window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gating {
    /// Pass rate before any change.
    pub p: f64,
    /// Runs per window.
    pub window: usize,
    /// Decisions per run.
    pub per_run: PerRun,
    /// Evaluations, one per new run.
    pub evaluations: usize,
    /// A drop of the pass rate from the first evaluated run on (0: none).
    pub drop: f64,
}

/// What repeated gating did over many histories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GatingResult {
    /// Histories simulated.
    pub reps: u64,
    /// Histories with at least one alarm, per rule of [`GATING_RULES`].
    pub any_alarm: [u64; 3],
    /// Per rule, the evaluation (1-based: runs since the change) of each
    /// history's first alarm.
    pub first_alarm: [Vec<usize>; 3],
}

/// The rules of [`GatingResult`], in order: the proposal's, `auto` at α per
/// evaluation, and `auto` with α bounding all the evaluations
/// (`--evaluations`).
pub const GATING_RULES: [&str; 3] = ["ols", "auto", "auto --evaluations"];

/// Simulates `reps` histories of `window + evaluations − 1` runs, the first
/// `window − 1` at p and the rest at p − drop, and evaluates every rule on
/// each of the `evaluations` windows that end at or after the change. The
/// bounded rule's level is the gate's own ([`repeated_level`] at the
/// rounded rate), kept per rate instead of simulated again for every
/// evaluation (with mixed decisions per run, from the first window of that
/// rate).
pub fn run_gating(gating: &Gating, reps: u64, alpha: f64, seed: u64) -> GatingResult {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let options = verdict_only(alpha);
    let repeated = RepeatedOptions {
        evaluations: gating.evaluations,
        ..RepeatedOptions::default()
    };
    // Levels by rounded rate, kept across windows and histories. With fixed
    // decisions per run every window has the same pattern, so they are the
    // gate's exactly; with mixed ones they come from the first window that
    // needed them, whose sizes follow the same distribution (the gate
    // simulates with each window's own, about a second at 500 runs: too
    // slow to repeat for 100 windows of 400 histories).
    let mut levels: HashMap<u64, f64> = HashMap::new();
    let runs = gating.window + gating.evaluations - 1;
    let mut result = GatingResult {
        reps,
        ..GatingResult::default()
    };
    for _ in 0..reps {
        let mut passes = Vec::with_capacity(runs);
        let mut decisions = Vec::with_capacity(runs);
        for i in 0..runs {
            let k = gating.per_run.draw(&mut rng);
            let p = if i + 1 >= gating.window {
                gating.p - gating.drop
            } else {
                gating.p
            };
            passes.push(draw_passes(&mut rng, k, p, 0.0));
            decisions.push(k);
        }
        let mut first: [Option<usize>; 3] = [None; 3];
        for e in 0..gating.evaluations {
            let range = e..e + gating.window;
            let (x, k) = (&passes[range.clone()], &decisions[range]);
            for (rule, found) in first.iter_mut().enumerate() {
                if found.is_some() {
                    continue;
                }
                let rule_options = match rule {
                    0 => VerdictOptions {
                        method: Method::Ols,
                        ..options
                    },
                    1 => options,
                    _ => {
                        let total: u64 = k.iter().sum();
                        let rate = simulation_rate(x.iter().sum::<u64>() as f64 / total as f64);
                        let level =
                            *levels
                                .entry((rate * 100.0).round() as u64)
                                .or_insert_with(|| {
                                    repeated_level(k, rate, alpha, &repeated).unwrap_or(alpha)
                                });
                        // The gate's verdict at that level.
                        VerdictOptions {
                            alpha: level,
                            ..options
                        }
                    }
                };
                let alarm = assess(x, k, &rule_options).verdict == Verdict::Regression;
                if alarm {
                    *found = Some(e + 1);
                }
            }
        }
        for (rule, at) in first.iter().enumerate() {
            if let Some(at) = at {
                result.any_alarm[rule] += 1;
                result.first_alarm[rule].push(*at);
            }
        }
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histories_follow_their_shape() {
        let cell = Cell {
            p: 0.9,
            runs: 10,
            per_run: PerRun::Fixed(10_000),
            rho: 0.0,
            shape: Shape::Step(0.2),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let (passes, decisions) = cell.history(&mut rng);
        assert_eq!(decisions, [10_000; 10]);
        assert!((passes[0] as f64 / 1e4 - 0.9).abs() < 0.02);
        assert!((passes[9] as f64 / 1e4 - 0.7).abs() < 0.02);
        assert_eq!(cell.true_dispersion(&decisions), 1.0);
        let dispersed = Cell { rho: 0.1, ..cell };
        assert!((dispersed.true_dispersion(&[20; 10]) - 2.9).abs() < 1e-12);
    }
}

/// Several segments judged together, as `--segment-by` judges them: every
/// segment a stable history of its own, the total their sum, every report
/// held to Holm's correction across all of them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Family {
    /// Segments (the total is one more report per metric).
    pub segments: usize,
    /// Runs, shared by every segment.
    pub runs: usize,
    /// Decisions per run in each segment.
    pub per_run: PerRun,
    /// Every segment's pass rate.
    pub rate: f64,
    /// Also judge a metric of means (a cost per run, log-normal) for every
    /// segment and the total.
    pub means: bool,
}

impl Family {
    /// "3 segments × 42 runs of 100, pass rate + cost".
    pub fn label(&self) -> String {
        format!(
            "{} × {} runs of {}, {}",
            if self.segments == 1 {
                "1 segment".to_owned()
            } else {
                format!("{} segments", self.segments)
            },
            self.runs,
            self.per_run.label(),
            if self.means {
                "pass rate + cost"
            } else {
                "pass rate"
            }
        )
    }
}

/// How often a family of stable histories raised any false regression.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct FamilyResult {
    /// Histories simulated.
    pub reps: u64,
    /// Reports per history.
    pub reports: usize,
    /// Histories where some report was a regression at its own α.
    pub any_uncorrected: u64,
    /// Histories where some report stayed a regression after Holm's
    /// correction: what `gate --segment-by` fails on.
    pub any_corrected: u64,
}

/// Simulates `reps` stable families with the shipped verdicts
/// ([`assess_rate`](crate::trend::assess_rate),
/// [`assess_means`](crate::verdict::means::assess_means)) and the suite's Holm
/// step.
pub fn run_family(family: &Family, reps: u64, alpha: f64, seed: u64) -> FamilyResult {
    use crate::metric::{Metric, Worse};
    use crate::trend::analyzer::MetricReport;
    use crate::trend::family::hold_to_holm;
    use crate::verdict::{assess_rate, means::assess_means, Subject};

    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let options = VerdictOptions {
        alpha,
        verdict_only: true,
        ..VerdictOptions::default()
    };
    let cost = rand_distr::LogNormal::new(-6.0, 0.3).ok();
    let mut result = FamilyResult {
        reps,
        ..FamilyResult::default()
    };
    let report = |metric: Metric, statistics| MetricReport {
        worse: metric.worse(),
        unit: metric.unit(),
        metric,
        segment: None,
        value: None,
        p_adjusted: None,
        statistics,
        summaries: crate::trend::RunSeries::default(),
    };
    for _ in 0..reps {
        let mut total_passes = vec![0u64; family.runs];
        let mut total_decisions = vec![0u64; family.runs];
        let mut total_cost = vec![0.0; family.runs];
        let mut reports = Vec::new();
        for _ in 0..family.segments {
            let decisions: Vec<u64> = (0..family.runs)
                .map(|_| family.per_run.draw(&mut rng))
                .collect();
            let passes: Vec<u64> = decisions
                .iter()
                .map(|&k| draw_passes(&mut rng, k, family.rate, 0.0))
                .collect();
            for i in 0..family.runs {
                total_passes[i] += passes[i];
                total_decisions[i] += decisions[i];
            }
            let stats = assess_rate(&passes, &decisions, &options, Subject::PASS_RATE);
            reports.push(report(Metric::PassRate, stats));
            if let (true, Some(cost)) = (family.means, cost) {
                let values: Vec<Option<f64>> = (0..family.runs)
                    .map(|i| {
                        let v = cost.sample(&mut rng);
                        total_cost[i] += v / family.segments as f64;
                        Some(v)
                    })
                    .collect();
                let subject = Subject {
                    noun: "cost per trace",
                    worse: Worse::Higher,
                };
                let stats = assess_means(&values, family.runs as u64, &options, subject);
                reports.push(report(Metric::Cost, stats));
            }
        }
        if family.segments > 1 {
            let stats = assess_rate(
                &total_passes,
                &total_decisions,
                &options,
                Subject::PASS_RATE,
            );
            reports.push(report(Metric::PassRate, stats));
            if family.means {
                let values: Vec<Option<f64>> = total_cost.iter().map(|&v| Some(v)).collect();
                let subject = Subject {
                    noun: "cost per trace",
                    worse: Worse::Higher,
                };
                let stats = assess_means(&values, family.runs as u64, &options, subject);
                reports.push(report(Metric::Cost, stats));
            }
        }
        let regressed = |reports: &[MetricReport]| {
            reports
                .iter()
                .any(|r| r.statistics.verdict == Verdict::Regression)
        };
        result.reports = reports.len();
        result.any_uncorrected += u64::from(regressed(&reports));
        hold_to_holm(&mut reports, &options);
        result.any_corrected += u64::from(regressed(&reports));
    }
    result
}

/// Which cases a run asks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CaseLayout {
    /// An eval suite: every case once in every run.
    Suite,
    /// Traffic: each run draws this many cases at random (with
    /// replacement), one decision each.
    Traffic(usize),
}

impl CaseLayout {
    /// "suite" or "traffic, 40 draws a run".
    pub fn label(self) -> String {
        match self {
            CaseLayout::Suite => "suite".to_owned(),
            CaseLayout::Traffic(k) => format!("traffic, {k} draws a run"),
        }
    }
}

/// Which cases fall at the step.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Breaking {
    /// No case changes.
    None,
    /// A quarter of the cases (chosen at random per history) fall, so that
    /// the pass rate over all cases falls by this much on average.
    Quarter(f64),
    /// Every case falls, in proportion to its rate, by this much on
    /// average.
    Every(f64),
}

impl Breaking {
    /// "none", "a quarter, −10", "every case, −15".
    pub fn label(self) -> String {
        match self {
            Breaking::None => "none".to_owned(),
            Breaking::Quarter(d) => format!("a quarter of cases, −{:.0}", 100.0 * d),
            Breaking::Every(d) => format!("every case, −{:.0}", 100.0 * d),
        }
    }
}

/// A store of cases without a shift of the mix: cases of different
/// difficulty, the same chance of being asked in every run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaseCell {
    /// Runs in the window.
    pub runs: usize,
    /// Cases.
    pub cases: usize,
    /// Which cases a run asks.
    pub layout: CaseLayout,
    /// The mean pass rate of the cases before the step.
    pub p: f64,
    /// The cases' difficulty: their logits are the logit of `p` plus a
    /// normal of this standard deviation, drawn per history (then
    /// rescaled to mean `p` exactly).
    pub case_sd: f64,
    /// What falls at the step.
    pub breaking: Breaking,
    /// The first run of the new level.
    pub step_at: usize,
}

impl CaseCell {
    /// One history: per run the pooled (passes, decisions), and per case
    /// its cells (run, passes, decisions).
    pub fn history(&self, rng: &mut impl Rng) -> CaseHistory {
        let logit = (self.p / (1.0 - self.p)).ln();
        let sd = self.case_sd.max(0.0);
        let mut before: Vec<f64> = (0..self.cases)
            .map(|_| {
                let z: f64 = rng.sample(rand_distr::StandardNormal);
                1.0 / (1.0 + (-(logit + sd * z)).exp())
            })
            .collect();
        let mean = before.iter().sum::<f64>() / self.cases.max(1) as f64;
        for p in &mut before {
            *p = (*p * self.p / mean).min(1.0);
        }
        let mut broken = vec![false; self.cases];
        let fall = match self.breaking {
            Breaking::None => 0.0,
            Breaking::Quarter(d) => {
                let quarter = self.cases / 4;
                let mut order: Vec<usize> = (0..self.cases).collect();
                for i in 0..quarter {
                    let j = rng.random_range(i..self.cases);
                    order.swap(i, j);
                    broken[order[i]] = true;
                }
                let share: f64 =
                    order[..quarter].iter().map(|&c| before[c]).sum::<f64>() / self.cases as f64;
                // The broken cases keep 1 − f of their rate, f·share = d.
                (d / share.max(f64::MIN_POSITIVE)).min(1.0)
            }
            Breaking::Every(d) => {
                broken.fill(true);
                (d / self.p).min(1.0)
            }
        };
        let rate = |case: usize, run: usize| {
            if run >= self.step_at && broken[case] {
                before[case] * (1.0 - fall)
            } else {
                before[case]
            }
        };
        let mut history = CaseHistory {
            passes: vec![0; self.runs],
            decisions: vec![0; self.runs],
            strata: vec![Vec::new(); self.cases],
        };
        for run in 0..self.runs {
            let mut ask = |case: usize, rng: &mut ChaCha8Rng| {
                let pass = u64::from(rng.random_bool(rate(case, run).clamp(0.0, 1.0)));
                history.passes[run] += pass;
                history.decisions[run] += 1;
                let cells = &mut history.strata[case];
                match cells.last_mut() {
                    Some(cell) if cell.0 == run as f64 => {
                        cell.1 += pass;
                        cell.2 += 1;
                    }
                    _ => cells.push((run as f64, pass, 1)),
                }
            };
            let mut local = ChaCha8Rng::seed_from_u64(rng.random());
            match self.layout {
                CaseLayout::Suite => (0..self.cases).for_each(|c| ask(c, &mut local)),
                CaseLayout::Traffic(k) => {
                    for _ in 0..k {
                        let c = local.random_range(0..self.cases);
                        ask(c, &mut local);
                    }
                }
            }
        }
        history
    }
}

/// One simulated store of cases.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseHistory {
    /// Passes per run over all cases.
    pub passes: Vec<u64>,
    /// Decisions per run over all cases.
    pub decisions: Vec<u64>,
    /// Per case, its (run, passes, decisions) cells.
    pub strata: Vec<Vec<crate::stats::stratified::Cell>>,
}

/// What the two gates said over a case cell's histories.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct CaseResult {
    /// Histories simulated.
    pub reps: u64,
    /// Regressions across all decisions (`gate` without `--case-by`).
    pub across: u64,
    /// Regressions with the verdict resting on the cases (`gate
    /// --case-by`).
    pub within: u64,
    /// Histories where the within-case test was used.
    pub used: u64,
    /// Histories where the within-case test estimated φ > 1.
    pub dispersed: u64,
    /// Σ of the within-case 95% interval's width over the plain one's.
    pub width_ratio: f64,
}

impl CaseResult {
    /// A count as a share of the histories.
    pub fn rate(&self, count: u64) -> f64 {
        count as f64 / self.reps.max(1) as f64
    }
}

/// Simulates `reps` histories of a case cell, seeded, with both gates
/// (`auto`) at level `alpha`: the pass rate across all decisions, and the
/// same with the verdict resting on the trend within cases as `--case-by`
/// rests it.
pub fn run_case_cell(cell: &CaseCell, reps: u64, alpha: f64, seed: u64) -> CaseResult {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let options = verdict_only(alpha);
    let mut result = CaseResult {
        reps,
        ..CaseResult::default()
    };
    for _ in 0..reps {
        let history = cell.history(&mut rng);
        let plain = assess(&history.passes, &history.decisions, &options);
        result.across += u64::from(plain.verdict == Verdict::Regression);
        let mut cased = plain.clone();
        crate::verdict::judge_within_cases(&mut cased, &history.strata, &options);
        result.within += u64::from(cased.verdict == Verdict::Regression);
        if let (Some(w), Some(ca)) = (cased.within_cases, plain.evidence.cochran_armitage()) {
            result.used += u64::from(w.used);
            let plain_width = ca.predicted_change_ci[1] - ca.predicted_change_ci[0];
            if plain_width > 0.0 {
                result.width_ratio += (w.change_ci[1] - w.change_ci[0]) / plain_width;
            }
        }
        if let Ok(t) = crate::stats::stratified_cochran_armitage(&history.strata, 0.95) {
            result.dispersed += u64::from(t.dispersion > 1.0);
        }
    }
    result
}
