//! Statistics over per-run series: pure functions over slices, no I/O.
//!
//! Each function cites its formula and source, and says when its result is
//! undefined for the data ([`Undefined`]) rather than returning NaN.

pub mod cochran_armitage;
pub mod dispersion;
pub mod intervals;
pub mod mann_kendall;
pub mod ols;
pub mod power;
pub mod repeated;
pub mod step_change;
pub mod sum;
pub mod trend_test;

pub use cochran_armitage::{cochran_armitage, CochranArmitage};
pub use dispersion::{successive_dispersion, trend_inflation_per_rho, Dispersion};
pub use intervals::{newcombe, wilson};
pub use mann_kendall::{mann_kendall, MannKendall};
pub use ols::{ols, ols_test, OlsFit, OlsTest};
pub use power::min_detectable_drop;
pub use repeated::{repeated_level, simulation_rate, RepeatedOptions};
pub use step_change::{segment, step_change, Level, Permuted, StepChange, StepOptions};
pub use trend_test::{trend_test, TrendTest, DISPERSION_LEVEL};

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
