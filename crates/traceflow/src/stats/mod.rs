//! Statistics over per-run series: pure functions over slices, no I/O.
//!
//! Each function cites its formula and source, and says when its result is
//! undefined for the data ([`Undefined`]) rather than returning NaN.

pub mod cochran_armitage;
pub mod mann_kendall;
pub mod ols;
pub mod sum;

pub use cochran_armitage::{cochran_armitage, CochranArmitage};
pub use mann_kendall::{mann_kendall, MannKendall};
pub use ols::{ols, ols_test, OlsFit, OlsTest};

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
    /// A NaN or infinite value.
    #[error("a value is not finite")]
    NotFinite,
}
