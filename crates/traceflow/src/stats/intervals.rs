//! Confidence intervals for a proportion and for a difference of two.

use statrs::distribution::ContinuousCDF;

use super::cochran_armitage::standard_normal;

/// The quantile z₍₁₊c₎/₂ of a two-sided interval at `confidence`.
pub(crate) fn two_sided_z(confidence: f64) -> f64 {
    standard_normal().inverse_cdf(0.5 + confidence / 2.0)
}

/// Wilson score interval for `passes` of `decisions`; `None` without
/// decisions (or with more passes than decisions).
///
/// With p̂ = x/n and z = z₍₁₊c₎/₂: centre (x + z²/2)/(n + z²), half-width
/// z/(n + z²)·√(x(n − x)/n + z²/4). Wilson, "Probable inference, the law of
/// succession, and statistical inference", JASA 22 (1927) 209–212; as
/// statsmodels' `proportion_confint(method="wilson")`. Unlike the Wald
/// interval it stays inside [0, 1] and is not empty at p̂ ∈ {0, 1}.
pub fn wilson(passes: u64, decisions: u64, confidence: f64) -> Option<(f64, f64)> {
    if decisions == 0 || passes > decisions {
        return None;
    }
    let (x, n) = (passes as f64, decisions as f64);
    let z = two_sided_z(confidence);
    let z2 = z * z;
    let centre = (x + z2 / 2.0) / (n + z2);
    let half = z / (n + z2) * (x * (n - x) / n + z2 / 4.0).sqrt();
    Some(((centre - half).max(0.0), (centre + half).min(1.0)))
}

/// Newcombe's hybrid score interval for p₁ − p₂, built from the two Wilson
/// intervals (l₁, u₁), (l₂, u₂): d = p̂₁ − p̂₂,
/// lower d − √((p̂₁ − l₁)² + (u₂ − p̂₂)²), upper d + √((u₁ − p̂₁)² + (p̂₂ − l₂)²).
///
/// Newcombe, "Interval estimation for the difference between independent
/// proportions: comparison of eleven methods", Statistics in Medicine 17
/// (1998) 873–890, method 10; as statsmodels'
/// `confint_proportions_2indep(method="newcomb")`. `None` if either side has
/// no decisions.
pub fn newcombe(
    (passes1, decisions1): (u64, u64),
    (passes2, decisions2): (u64, u64),
    confidence: f64,
) -> Option<(f64, f64)> {
    let (l1, u1) = wilson(passes1, decisions1, confidence)?;
    let (l2, u2) = wilson(passes2, decisions2, confidence)?;
    let p1 = passes1 as f64 / decisions1 as f64;
    let p2 = passes2 as f64 / decisions2 as f64;
    let d = p1 - p2;
    let lower = d - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let upper = d + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Some((lower, upper))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wilson_is_inside_the_unit_interval_at_the_extremes() {
        let (lo, hi) = wilson(0, 10, 0.95).unwrap();
        assert_eq!(lo, 0.0);
        assert!(hi > 0.2 && hi < 0.35, "{hi}");
        let (lo, hi) = wilson(10, 10, 0.95).unwrap();
        assert!(lo > 0.65 && lo < 0.8, "{lo}");
        assert_eq!(hi, 1.0);
        assert_eq!(wilson(0, 0, 0.95), None);
        assert_eq!(wilson(3, 2, 0.95), None);
    }

    #[test]
    fn newcombe_contains_the_difference_and_needs_both_sides() {
        let (lo, hi) = newcombe((12, 20), (18, 20), 0.95).unwrap();
        assert!(lo < -0.3 && -0.3 < hi && hi < 0.0, "{lo} {hi}");
        assert_eq!(newcombe((1, 0), (1, 2), 0.95), None);
    }
}
