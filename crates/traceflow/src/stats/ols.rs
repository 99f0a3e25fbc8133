//! Ordinary least squares of y on x: the proposal's slope.

use super::sum::neumaier;

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
}
