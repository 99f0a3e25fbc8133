//! Pettitt's test: where a series' level shifted, without assuming its
//! distribution (the change point of a metric of means).

use super::{check_series, Undefined};

/// The most likely shift of a series in one direction.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Shift {
    /// The first index of the new level (τ + 1 in Pettitt's notation).
    pub index: usize,
    /// K: |U| at that split, U = Σᵢ≤τ Σⱼ>τ sign(yⱼ − yᵢ).
    pub k: f64,
    /// The approximate one-sided p-value, exp(−6K² / (n³ + n²)).
    pub p_value: f64,
}

/// The most likely rise and fall of a series, by ranks.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Pettitt {
    /// The split where U is largest (later values above earlier ones).
    pub rise: Shift,
    /// The split where −U is largest.
    pub fall: Shift,
}

/// Pettitt's test (Pettitt 1979, "A non-parametric approach to the
/// change-point problem", Applied Statistics 28, 126–135) of `y` in order,
/// one-sided in each direction.
///
/// Uₜ = Σᵢ≤ₜ Σⱼ>ₜ sign(yⱼ − yᵢ), computed from midranks rᵢ as
/// Uₜ = t(n + 1) − 2 Σᵢ≤ₜ rᵢ, so in O(n log n). For a rise, K₊ = maxₜ Uₜ
/// and p ≈ exp(−6K₊² / (n³ + n²)) (Pettitt's eq. 2.4, one-sided); a fall
/// likewise with −Uₜ. Ties between splits keep the earliest.
///
/// Undefined for fewer than 2 points or a non-finite value.
pub fn pettitt(y: &[f64]) -> Result<Pettitt, Undefined> {
    check_series(y, 2)?;
    let n = y.len();
    // Midranks, 1-based.
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| y[a].total_cmp(&y[b]));
    let mut rank = vec![0.0; n];
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && y[order[end]] == y[order[start]] {
            end += 1;
        }
        // Positions start+1 ..= end share their mean rank.
        let mid = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            rank[i] = mid;
        }
        start = end;
    }
    let (mut best_rise, mut best_fall) = ((0.0_f64, 1), (0.0_f64, 1));
    let mut sum = 0.0;
    for t in 1..n {
        sum += rank[t - 1];
        let u = (t * (n + 1)) as f64 - 2.0 * sum;
        if u > best_rise.0 {
            best_rise = (u, t);
        }
        if -u > best_fall.0 {
            best_fall = (-u, t);
        }
    }
    let scale = (n as f64).powi(3) + (n as f64).powi(2);
    let shift = |(k, index): (f64, usize)| Shift {
        index,
        k,
        p_value: (-6.0 * k * k / scale).exp().min(1.0),
    };
    Ok(Pettitt {
        rise: shift(best_rise),
        fall: shift(best_fall),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Uₜ by its definition, O(n²).
    fn u_by_definition(y: &[f64], t: usize) -> f64 {
        let mut u = 0.0;
        for i in 0..t {
            for j in t..y.len() {
                u += (y[j] - y[i]).signum() * f64::from(u8::from(y[j] != y[i]));
            }
        }
        u
    }

    #[test]
    fn ranks_give_the_definitions_u_at_the_best_split() {
        let series: [&[f64]; 4] = [
            &[1.0, 2.0, 1.0, 2.0, 5.0, 6.0, 5.0, 6.0],
            &[3.0, 3.0, 3.0, 1.0, 1.0, 2.0, 1.0],
            &[0.5, 0.1, 0.9, 0.3, 0.3, 0.7, 0.2, 0.8, 0.6],
            &[2.0, 2.0],
        ];
        for y in series {
            let result = pettitt(y).unwrap();
            let us: Vec<f64> = (1..y.len()).map(|t| u_by_definition(y, t)).collect();
            let max = us.iter().copied().fold(0.0, f64::max);
            let min = us.iter().copied().fold(0.0, f64::min);
            assert_eq!(result.rise.k, max, "{y:?}");
            assert_eq!(result.fall.k, -min, "{y:?}");
            if max > 0.0 {
                assert_eq!(u_by_definition(y, result.rise.index), max, "{y:?}");
            }
            if min < 0.0 {
                assert_eq!(u_by_definition(y, result.fall.index), min, "{y:?}");
            }
        }
    }

    #[test]
    fn a_clear_shift_is_found_where_it_is_and_in_its_direction() {
        let mut y = vec![10.0, 11.0, 9.0, 10.0, 11.0, 10.0, 9.0, 10.0];
        y.extend([14.0, 15.0, 13.0, 14.0, 15.0, 14.0, 13.0, 14.0]);
        let result = pettitt(&y).unwrap();
        assert_eq!(result.rise.index, 8);
        // K = 64 (every later value above every earlier): exp(−6·64²/(16³ + 16²)).
        assert_eq!(result.rise.k, 64.0);
        let expected = (-6.0_f64 * 4096.0 / 4352.0).exp();
        assert!((result.rise.p_value - expected).abs() < 1e-15);
        assert!(result.fall.p_value > 0.5);
        let fall: Vec<f64> = y.iter().map(|v| -v).collect();
        let result = pettitt(&fall).unwrap();
        assert_eq!((result.fall.index, result.fall.k), (8, 64.0));
    }

    #[test]
    fn too_few_or_not_finite_is_undefined() {
        assert!(pettitt(&[1.0]).is_err());
        assert!(pettitt(&[1.0, f64::NAN, 2.0]).is_err());
    }
}
