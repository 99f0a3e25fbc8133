//! The fitted line drawn through a report's runs.

use crate::stats::Spread;
use crate::verdict::Statistics;

/// The fitted line drawn through a report's runs, kept as its
/// coefficients: a report of a million runs holds these numbers, not a
/// million points, and [`Line::at`] gives each run's point when it is read.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Line {
    /// No line: no trend test, or no run with a value.
    None,
    /// Cochran–Armitage's line p̄ + b(t − t̄) with its band: the half-width
    /// q·SE(b)·√(Sₜₜ/N + (t − t̄)²) covers the level's uncertainty as well
    /// as the slope's (SE(level)² = SE(b)²·Sₜₜ/N). q·SE(b) is half the
    /// slope's interval, so the band uses the test's own variance,
    /// dispersion and reference distribution.
    Rate {
        rate: f64,
        slope: f64,
        half_slope: f64,
        t_bar: f64,
        /// Sₜₜ/N.
        level: f64,
    },
    /// Sen's line (Sen's slope, the median intercept) with the range of
    /// the lines whose slopes lie in Sen's 95% interval, pivoting about the
    /// middle run. That range is the slope's uncertainty only: unlike a
    /// rate's band, it has no width at the middle run (the HTML labels it
    /// so). Its abscissa is a run's place among the runs with a finite
    /// value, the series Mann–Kendall saw.
    Mean {
        intercept: f64,
        slope: f64,
        slope_ci: (f64, f64),
        centre: f64,
    },
}

impl Line {
    /// A rate's line, from the runs' trials.
    pub(crate) fn rate(stats: &Statistics, trials: &[u64]) -> Line {
        let (Some(ca), Some(rate)) = (stats.evidence.cochran_armitage(), stats.pass_rate) else {
            return Line::None;
        };
        let spread = Spread::by_index(trials);
        if spread.total <= 0.0 {
            return Line::None;
        }
        Line::Rate {
            rate,
            slope: ca.slope,
            half_slope: (ca.slope_ci[1] - ca.slope_ci[0]) / 2.0,
            t_bar: spread.t_bar,
            level: spread.s_tt / spread.total,
        }
    }

    /// A mean's line, from the runs' values.
    pub(crate) fn mean(stats: &Statistics, values: &[Option<f64>]) -> Line {
        let Some(mk) = stats.evidence.mann_kendall() else {
            return Line::None;
        };
        // Sen's intercept: the median of yₖ − b·k over the judged runs, k
        // their position in the series Mann–Kendall saw.
        let mut residuals: Vec<f64> = values
            .iter()
            .filter_map(|v| v.filter(|v| v.is_finite()))
            .enumerate()
            .map(|(k, y)| y - mk.sen_slope * k as f64)
            .collect();
        let points = residuals.len();
        let Some(intercept) = crate::stats::median(&mut residuals) else {
            return Line::None;
        };
        Line::Mean {
            intercept,
            slope: mk.sen_slope,
            slope_ci: mk.sen_ci,
            centre: (points - 1) as f64 / 2.0,
        }
    }

    /// The fitted value and band at run `i`, whose value is `value` and
    /// before which `finite` runs have a finite value.
    pub(crate) fn at(
        &self,
        i: usize,
        finite: usize,
        value: Option<f64>,
    ) -> (Option<f64>, Option<[f64; 2]>) {
        match *self {
            Line::None => (None, None),
            Line::Rate {
                rate,
                slope,
                half_slope,
                t_bar,
                level,
            } => {
                let dt = i as f64 - t_bar;
                let fitted = (rate + slope * dt).clamp(0.0, 1.0);
                let half = half_slope * (level + dt * dt).sqrt();
                (
                    Some(fitted),
                    Some([(fitted - half).max(0.0), (fitted + half).min(1.0)]),
                )
            }
            Line::Mean {
                intercept,
                slope,
                slope_ci,
                centre,
            } => {
                if !value.is_some_and(f64::is_finite) {
                    return (None, None);
                }
                let k = finite as f64;
                let at_centre = intercept + slope * centre;
                let dk = k - centre;
                let (a, b) = (at_centre + slope_ci.0 * dk, at_centre + slope_ci.1 * dk);
                (Some(intercept + slope * k), Some([a.min(b), a.max(b)]))
            }
        }
    }

    /// Whether a run's point depends on the runs before it (a mean's
    /// abscissa counts them).
    pub(crate) fn counts_runs(&self) -> bool {
        matches!(self, Line::Mean { .. })
    }
}
