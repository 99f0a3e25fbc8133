//! Statistics over per-run series: pure functions over slices, no I/O.

pub mod ols;
pub mod sum;

pub use ols::{ols, OlsFit};
