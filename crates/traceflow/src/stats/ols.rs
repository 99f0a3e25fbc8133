//! Ordinary least squares of y on x: the proposal's slope, and its t-test.

use statrs::distribution::{ContinuousCDF, StudentsT};

use super::sum::neumaier;
use super::Undefined;

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
/// in place of `math.fsum`, so the two agree to about 1e-15.
///
/// `None` when the slope is undefined: fewer than two points, lengths that
/// differ, a non-finite value, or every x equal.
pub fn ols(x: &[f64], y: &[f64]) -> Option<OlsFit> {
    let n = x.len();
    if n < 2 || y.len() != n || x.iter().chain(y).any(|v| !v.is_finite()) {
        return None;
    }
    let n_f = n as f64;
    let x_mean = neumaier(x.iter().copied()) / n_f;
    let y_mean = neumaier(y.iter().copied()) / n_f;
    let sxy = neumaier(
        x.iter()
            .zip(y)
            .map(|(xi, yi)| (xi - x_mean) * (yi - y_mean)),
    );
    let sxx = neumaier(x.iter().map(|xi| (xi - x_mean) * (xi - x_mean)));
    if sxx == 0.0 {
        return None;
    }
    let slope = sxy / sxx;
    Some(OlsFit {
        slope,
        intercept: y_mean - slope * x_mean,
    })
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
/// Undefined for fewer than 3 points (no degrees of freedom), a
/// non-finite value, or all x equal.
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
    let fit = ols(x, y).ok_or(Undefined::NoSpread)?;
    let n_f = n as f64;
    let x_mean = neumaier(x.iter().copied()) / n_f;
    let y_mean = neumaier(y.iter().copied()) / n_f;
    let sxx = neumaier(x.iter().map(|xi| (xi - x_mean) * (xi - x_mean)));
    let syy = neumaier(y.iter().map(|yi| (yi - y_mean) * (yi - y_mean)));
    let sxy = neumaier(
        x.iter()
            .zip(y)
            .map(|(xi, yi)| (xi - x_mean) * (yi - y_mean)),
    );
    let df = n_f - 2.0;
    if syy == 0.0 {
        return Ok(OlsTest {
            slope: fit.slope,
            intercept: fit.intercept,
            stderr: None,
            r_squared: None,
            p_decline: None,
        });
    }
    let r_squared = (sxy * sxy / (sxx * syy)).min(1.0);
    let stderr = ((1.0 - r_squared) * syy / sxx / df).sqrt();
    let t = if stderr == 0.0 {
        fit.slope.signum() * f64::INFINITY
    } else {
        fit.slope / stderr
    };
    let p_decline = StudentsT::new(0.0, 1.0, df)
        .map(|dist| dist.cdf(t))
        .map_err(|_| Undefined::TooFew {
            needed: 3,
            found: n,
        })?;
    Ok(OlsTest {
        slope: fit.slope,
        intercept: fit.intercept,
        stderr: Some(stderr),
        r_squared: Some(r_squared),
        p_decline: Some(p_decline),
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
