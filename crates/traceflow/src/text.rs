//! Wording shared by the verdict's sentences and the reports.

/// "1 run", "3 runs".
pub(crate) fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

/// A rate difference in percentage points: "12.3 points".
pub(crate) fn points(x: f64) -> String {
    format!("{:.1} points", 100.0 * x)
}

/// The same with its sign: "-12.3 points".
pub(crate) fn signed_points(x: f64) -> String {
    format!("{:+.1} points", 100.0 * x)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nouns_and_points() {
        assert_eq!(count(1, "run"), "1 run");
        assert_eq!(count(0, "run"), "0 runs");
        assert_eq!(points(0.1234), "12.3 points");
        assert_eq!(signed_points(-0.1234), "-12.3 points");
        assert_eq!(signed_points(0.05), "+5.0 points");
    }
}
