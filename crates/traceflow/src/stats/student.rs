//! Student's t distribution, guarded: statrs' own panics on a NaN
//! argument (its incomplete beta asserts its range), and its quantile loses
//! accuracy beyond about 10⁴ degrees of freedom and does not return at all
//! beyond about 10⁸ (the inverse incomplete beta iterates without end).

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::cochran_armitage::standard_normal;

/// Degrees of freedom above which the Cornish–Fisher expansion replaces
/// statrs' quantile. Both agree to about 1e-13 here; above, statrs' drifts
/// (3e-7 relative at 3·10⁴, no answer at 10⁸) while the expansion's error,
/// O(ν⁻⁵), shrinks.
pub const QUANTILE_LARGE_DF: f64 = 1e4;

/// Degrees of freedom above which the inverted expansion replaces statrs'
/// cdf. Against 50-digit values, statrs' relative error grows with ν (2e-12
/// at 2·10⁴, 8e-11 at 10⁵, 2e-8 at 10⁷, 2e-3 at 10¹²: its incomplete beta
/// loses 1 − ν/(ν + t²)); the expansion's stays near the 3e-11 of statrs'
/// normal cdf it ends in. They cross near here.
pub const CDF_LARGE_DF: f64 = 1e5;

/// P(T ≤ t) for T ~ Student's t with `df` degrees of freedom (the normal
/// for `df` = ∞); `None` for a NaN `t` or `df`, or `df` ≤ 0.
///
/// Above [`CDF_LARGE_DF`], Φ(z) where z is the normal quantile whose
/// Cornish–Fisher expansion ([`t_quantile`]) is t, found by Newton's method;
/// for |t| ≥ √ν the tail, below (1 + t²/ν)^(−ν/2) ≤ 2^(−5000), is 0.
pub fn t_cdf(t: f64, df: f64) -> Option<f64> {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return None;
    }
    if df.is_infinite() {
        return Some(standard_normal().cdf(t));
    }
    if df > CDF_LARGE_DF {
        if t * t >= df {
            return Some(if t < 0.0 { 0.0 } else { 1.0 });
        }
        // CF(z) is increasing on |z| < √ν; start from its first-order inverse.
        let mut z = t - (t * t + 1.0) * t / (4.0 * df);
        for _ in 0..8 {
            let (value, slope) = cornish_fisher(z, df);
            let step = (value - t) / slope;
            z -= step;
            if step.abs() <= 1e-17 * z.abs().max(1.0) {
                break;
            }
        }
        return Some(standard_normal().cdf(z));
    }
    StudentsT::new(0.0, 1.0, df).ok().map(|dist| dist.cdf(t))
}

/// The quantile of probability `p` of Student's t with `df` degrees of
/// freedom (the normal for `df` = ∞); `None` for `p` outside [0, 1] or NaN,
/// or a NaN `df` or `df` ≤ 0.
///
/// Above [`QUANTILE_LARGE_DF`], the Cornish–Fisher expansion in 1/ν to its fourth
/// term, t = z + g₁(z)/ν + g₂(z)/ν² + g₃(z)/ν³ + g₄(z)/ν⁴ with z = Φ⁻¹(p):
/// Abramowitz & Stegun, Handbook of Mathematical Functions (1964), 26.7.5.
pub fn t_quantile(p: f64, df: f64) -> Option<f64> {
    if !(0.0..=1.0).contains(&p) || df.is_nan() || df <= 0.0 {
        return None;
    }
    let normal = standard_normal();
    if df.is_infinite() {
        return Some(normal.inverse_cdf(p));
    }
    if df > QUANTILE_LARGE_DF {
        return Some(cornish_fisher(normal.inverse_cdf(p), df).0);
    }
    StudentsT::new(0.0, 1.0, df)
        .ok()
        .map(|dist| dist.inverse_cdf(p))
}

/// A&S 26.7.5's t for the normal quantile z, with its derivative in z.
fn cornish_fisher(z: f64, df: f64) -> (f64, f64) {
    if z.is_infinite() {
        return (z, 1.0);
    }
    let z2 = z * z;
    // gₖ(z) = z·hₖ(z²), so gₖ′ = hₖ + 2z²hₖ′.
    let h = [
        (z2 + 1.0) / 4.0,
        ((5.0 * z2 + 16.0) * z2 + 3.0) / 96.0,
        (((3.0 * z2 + 19.0) * z2 + 17.0) * z2 - 15.0) / 384.0,
        ((((79.0 * z2 + 776.0) * z2 + 1482.0) * z2 - 1920.0) * z2 - 945.0) / 92160.0,
    ];
    let dh = [
        1.0 / 4.0,
        (10.0 * z2 + 16.0) / 96.0,
        ((9.0 * z2 + 38.0) * z2 + 17.0) / 384.0,
        (((316.0 * z2 + 2328.0) * z2 + 2964.0) * z2 - 1920.0) / 92160.0,
    ];
    let (mut value, mut slope, mut power) = (z, 1.0, 1.0);
    for (hk, dhk) in h.iter().zip(dh) {
        power /= df;
        value += z * hk * power;
        slope += (hk + 2.0 * z2 * dhk) * power;
    }
    (value, slope)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statrs_below_the_switch_and_the_expansion_above_agree_at_it() {
        for p in [0.8, 0.975, 0.99, 0.9995, 0.01] {
            let df = QUANTILE_LARGE_DF;
            let below = StudentsT::new(0.0, 1.0, df).unwrap().inverse_cdf(p);
            let above = cornish_fisher(standard_normal().inverse_cdf(p), df).0;
            assert!(
                (below - above).abs() < 1e-11 * below.abs(),
                "{p}: {below} {above}"
            );
        }
        for t in [-6.0, -2.5, -0.3, 0.0, 1.0, 3.0] {
            let below = StudentsT::new(0.0, 1.0, CDF_LARGE_DF).unwrap().cdf(t);
            let above = t_cdf(t, CDF_LARGE_DF * (1.0 + 1e-12)).unwrap();
            // Each within about 1e-10 of the 50-digit value here.
            assert!(
                (below - above).abs() < 2e-10 * below,
                "{t}: {below} {above}"
            );
        }
    }

    #[test]
    fn huge_degrees_of_freedom_are_the_normal_and_return() {
        // statrs' quantile never returns at 1e8 degrees of freedom.
        let normal = standard_normal();
        for df in [2e5, 1e8, 1e15, 1e300, f64::MAX, f64::INFINITY] {
            let q = t_quantile(0.975, df).unwrap();
            assert!((q - normal.inverse_cdf(0.975)).abs() < 1e-4, "{df}: {q}");
            let p = t_cdf(-2.0, df).unwrap();
            // t's tail exceeds the normal's by about φ(2)·10/(4ν): 7e-7 at 2·10⁵.
            assert!((p - normal.cdf(-2.0)).abs() < 2e-6, "{df}: {p}");
            // The quantile and the cdf invert each other, to the 1e-12 of
            // statrs' normal cdf (its Φ(Φ⁻¹(0.975)) is 0.975 + 1.1e-12).
            assert!((t_cdf(q, df).unwrap() - 0.975).abs() < 1e-11, "{df}");
        }
        // Far beyond √ν the tail is below the smallest double.
        assert_eq!(t_cdf(-1e3, 2e5), Some(0.0));
        assert_eq!(t_cdf(1e3, 2e5), Some(1.0));
    }

    #[test]
    fn nan_arguments_are_none_not_a_panic() {
        assert_eq!(t_cdf(f64::NAN, 5.0), None);
        assert_eq!(t_cdf(1.0, f64::NAN), None);
        assert_eq!(t_cdf(1.0, 0.0), None);
        assert_eq!(t_quantile(f64::NAN, 5.0), None);
        assert_eq!(t_quantile(1.5, 5.0), None);
        assert_eq!(t_quantile(0.5, -1.0), None);
        assert_eq!(t_cdf(f64::NEG_INFINITY, 5.0), Some(0.0));
        assert_eq!(t_cdf(f64::INFINITY, 5.0), Some(1.0));
    }
}
