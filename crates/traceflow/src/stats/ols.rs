//! Ordinary least squares of y on x: the proposal's slope, and its t-test.

use super::student::t_cdf;
use super::sum::neumaier;
use super::{scale_of, Undefined};

/// A fitted line y = intercept + slope · x.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OlsFit {
    /// Change in y per unit of x.
    pub slope: f64,
    /// y at x = 0.
    pub intercept: f64,
}

/// Fits y = a + b·x by ordinary least squares.
///
/// b = Σ(xᵢ − x̄)(yᵢ − ȳ) / Σ(xᵢ − x̄)², a = ȳ − b·x̄: the centred two-pass
/// form Python's `statistics.linear_regression` uses, with compensated sums
/// in place of `math.fsum`, so the two agree to about 1e-15. The sums are
/// taken over x and y scaled by powers of two (`scale_of`), so that values
/// of 1e250 do not overflow them; the scaling is exact.
///
/// `None` when the slope is undefined: fewer than two points, lengths that
/// differ, a non-finite value, every x equal, or a slope or intercept
/// beyond the largest float.
pub fn ols(x: &[f64], y: &[f64]) -> Option<OlsFit> {
    let n = x.len();
    if n < 2 || y.len() != n || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    Moments::of(x, y).fit()
}

/// Centred sums of x / sx and y / sy, for powers of two sx and sy.
struct Moments {
    sx: f64,
    sy: f64,
    x_mean: f64,
    y_mean: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Moments {
    /// Of finite x and y of the same length, at least one point.
    fn of(x: &[f64], y: &[f64]) -> Self {
        let (sx, sy) = (scale_of(x.iter().copied()), scale_of(y.iter().copied()));
        let x: Vec<f64> = x.iter().map(|v| v / sx).collect();
        let y: Vec<f64> = y.iter().map(|v| v / sy).collect();
        let n_f = x.len() as f64;
        let x_mean = neumaier(x.iter().copied()) / n_f;
        let y_mean = neumaier(y.iter().copied()) / n_f;
        let sxy = neumaier(
            x.iter()
                .zip(&y)
                .map(|(xi, yi)| (xi - x_mean) * (yi - y_mean)),
        );
        let sxx = neumaier(x.iter().map(|xi| (xi - x_mean) * (xi - x_mean)));
        let syy = neumaier(y.iter().map(|yi| (yi - y_mean) * (yi - y_mean)));
        Moments {
            sx,
            sy,
            x_mean,
            y_mean,
            sxx,
            syy,
            sxy,
        }
    }

    /// The slope in scaled units.
    fn scaled_slope(&self) -> f64 {
        self.sxy / self.sxx
    }

    /// The line in the data's units; `None` for every x equal, or a slope
    /// or intercept past the largest float.
    fn fit(&self) -> Option<OlsFit> {
        if self.sxx == 0.0 {
            return None;
        }
        let slope = self.scaled_slope();
        let fit = OlsFit {
            slope: slope * self.sy / self.sx,
            intercept: (self.y_mean - slope * self.x_mean) * self.sy,
        };
        (fit.slope.is_finite() && fit.intercept.is_finite()).then_some(fit)
    }
}

/// The least-squares line with its t-test for a negative slope (its
/// serialization is the JSON report's `ols`).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct OlsTest {
    /// Change in y per unit of x.
    pub slope: f64,
    /// y at x = 0.
    pub intercept: f64,
    /// Standard error of the slope; `None` for a constant y.
    pub stderr: Option<f64>,
    /// Share of the variance of y the line explains; `None` for a constant
    /// y (0/0).
    pub r_squared: Option<f64>,
    /// One-sided p-value for a negative slope: the t distribution with
    /// n − 2 degrees of freedom at slope / stderr; `None` for a constant y.
    pub p_decline: Option<f64>,
}

/// Fits y = a + b·x and tests b < 0.
///
/// b and a as [`ols`]; r² = Sxy²/(Sxx·Syy); SE(b) = √((1 − r²)·Syy/Sxx/(n − 2));
/// t = b/SE(b) with n − 2 degrees of freedom, p = P(T ≤ t). For a constant
/// y, r, SE and t are 0/0: `None`, where scipy has NaN; the slope is 0. A
/// perfect fit has SE 0 and p 0 or 1. As scipy's
/// `linregress(x, y, alternative="less")`. Source: Draper & Smith,
/// Applied Regression Analysis, 3rd ed. (1998), §1.4 and §3.
///
/// Computed on data scaled by powers of two as [`ols`], so that huge or
/// tiny values neither overflow nor underflow; the t distribution's tail
/// by [`t_cdf`].
///
/// Undefined for fewer than 3 points (no degrees of freedom), a
/// non-finite value, all x equal, or a line too steep for a float.
pub fn ols_test(x: &[f64], y: &[f64]) -> Result<OlsTest, Undefined> {
    let n = x.len();
    if y.len() != n {
        return Err(Undefined::LengthsDiffer);
    }
    if n < 3 {
        return Err(Undefined::TooFew {
            needed: 3,
            found: n,
        });
    }
    if x.iter().chain(y).any(|v| !v.is_finite()) {
        return Err(Undefined::NotFinite);
    }
    let moments = Moments::of(x, y);
    if moments.sxx == 0.0 {
        return Err(Undefined::NoSpread);
    }
    // Finite data, scaled: only a line too steep for a float is left.
    let fit = moments.fit().ok_or(Undefined::NotFinite)?;
    let Moments { sxx, syy, sxy, .. } = moments;
    let df = n as f64 - 2.0;
    if syy == 0.0 {
        return Ok(OlsTest {
            slope: fit.slope,
            intercept: fit.intercept,
            stderr: None,
            r_squared: None,
            p_decline: None,
        });
    }
    // r², SE and t in scaled units: r² and t do not depend on the scale.
    let r_squared = (sxy * sxy / (sxx * syy)).min(1.0);
    let stderr = ((1.0 - r_squared) * syy / sxx / df).sqrt();
    let slope = moments.scaled_slope();
    let t = if stderr == 0.0 {
        slope.signum() * f64::INFINITY
    } else {
        slope / stderr
    };
    let stderr = stderr * moments.sy / moments.sx;
    Ok(OlsTest {
        slope: fit.slope,
        intercept: fit.intercept,
        stderr: stderr.is_finite().then_some(stderr),
        r_squared: r_squared.is_finite().then_some(r_squared),
        p_decline: t_cdf(t, df),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_is_recovered() {
        let x = [0.0, 1.0, 2.0, 3.0];
        let y = [1.0, 0.9, 0.8, 0.7];
        let fit = ols(&x, &y).unwrap();
        assert!((fit.slope + 0.1).abs() < 1e-15, "{fit:?}");
        assert!((fit.intercept - 1.0).abs() < 1e-15, "{fit:?}");
    }

    #[test]
    fn matches_python_statistics_linear_regression() {
        // python3 -c "from statistics import linear_regression as l;
        //   r = l([0,1,2,3,4],[1,0.5,1,0,0.5]); print(repr(r.slope), repr(r.intercept))"
        //   -> -0.15 0.8999999999999999
        let fit = ols(&[0.0, 1.0, 2.0, 3.0, 4.0], &[1.0, 0.5, 1.0, 0.0, 0.5]).unwrap();
        assert_eq!(fit.slope, -0.15);
        assert!(
            (fit.intercept - 0.8999999999999999).abs() <= 1e-15,
            "{fit:?}"
        );
    }

    #[test]
    fn undefined_slopes_are_none() {
        assert_eq!(ols(&[], &[]), None);
        assert_eq!(ols(&[1.0], &[1.0]), None);
        assert_eq!(ols(&[2.0, 2.0], &[0.0, 1.0]), None);
        assert_eq!(ols(&[0.0, 1.0], &[0.0]), None);
        assert_eq!(ols(&[0.0, 1.0], &[0.0, f64::NAN]), None);
    }

    #[test]
    fn flat_series_has_zero_slope() {
        let fit = ols(&[0.0, 1.0, 2.0], &[0.8, 0.8, 0.8]).unwrap();
        assert_eq!(fit.slope, 0.0);
    }

    #[test]
    fn t_test_of_a_falling_line() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let t = ols_test(&x, &[1.0, 0.9, 0.95, 0.7, 0.6, 0.5]).unwrap();
        assert!(t.slope < 0.0 && t.p_decline.unwrap() < 0.01, "{t:?}");
        let flat = ols_test(&x, &[0.5; 6]).unwrap();
        assert_eq!(
            (flat.slope, flat.stderr, flat.r_squared, flat.p_decline),
            (0.0, None, None, None)
        );
        let exact = ols_test(&x, &[5.0, 4.0, 3.0, 2.0, 1.0, 0.0]).unwrap();
        assert_eq!((exact.stderr, exact.p_decline), (Some(0.0), Some(0.0)));
        assert_eq!(
            ols_test(&[0.0, 1.0], &[1.0, 0.0]),
            Err(Undefined::TooFew {
                needed: 3,
                found: 2
            })
        );
    }
}
