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

/// A number with `digits` significant digits (at least the integer part):
/// "0.000512", "12.3", "2593".
pub(crate) fn significant(x: f64, digits: i32) -> String {
    if x == 0.0 || !x.is_finite() {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (digits - 1 - magnitude).clamp(0, 12) as usize;
    format!("{x:.decimals$}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn significant_digits() {
        assert_eq!(significant(0.000_512_34, 3), "0.000512");
        assert_eq!(significant(-0.012_34, 3), "-0.0123");
        assert_eq!(significant(2593.4, 3), "2593");
        assert_eq!(significant(0.0, 3), "0");
    }

    #[test]
    fn nouns_and_points() {
        assert_eq!(count(1, "run"), "1 run");
        assert_eq!(count(0, "run"), "0 runs");
        assert_eq!(points(0.1234), "12.3 points");
        assert_eq!(signed_points(-0.1234), "-12.3 points");
        assert_eq!(signed_points(0.05), "+5.0 points");
    }
}
