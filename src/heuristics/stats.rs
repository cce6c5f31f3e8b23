//! Small statistics the trend heuristics need: least squares with a t statistic, and
//! Pearson's r.

/// Stands in for an infinite t statistic (a perfect fit), so evidence stays finite
/// and serializes as a number.
pub(crate) const T_PERFECT: f64 = 1e9;

/// An ordinary least-squares line `y = intercept + slope * x`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Fit {
    pub slope: f64,
    pub intercept: f64,
    /// `slope / standard error of slope`; [`T_PERFECT`] for a perfect fit.
    pub t: f64,
    pub r2: f64,
}

impl Fit {
    pub(crate) fn at(&self, x: f64) -> f64 {
        self.intercept + self.slope * x
    }
}

/// Sums of squares about the means of at least three pairs.
struct Moments {
    n: f64,
    mx: f64,
    my: f64,
    sxx: f64,
    syy: f64,
    sxy: f64,
}

impl Moments {
    fn of(points: &[(f64, f64)]) -> Option<Self> {
        if points.len() < 3 {
            return None;
        }
        let n = points.len() as f64;
        let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
        let my = points.iter().map(|p| p.1).sum::<f64>() / n;
        let sum = |f: &dyn Fn(&(f64, f64)) -> f64| points.iter().map(f).sum::<f64>();
        Some(Self {
            n,
            mx,
            my,
            sxx: sum(&|p| (p.0 - mx).powi(2)),
            syy: sum(&|p| (p.1 - my).powi(2)),
            sxy: sum(&|p| (p.0 - mx) * (p.1 - my)),
        })
    }
}

/// Fits a line through at least three points with varying `x`.
pub(crate) fn linear_fit(points: &[(f64, f64)]) -> Option<Fit> {
    let m = Moments::of(points)?;
    if m.sxx <= 0.0 {
        return None;
    }
    let slope = m.sxy / m.sxx;
    let intercept = m.my - slope * m.mx;
    let sse: f64 = points
        .iter()
        .map(|p| (p.1 - intercept - slope * p.0).powi(2))
        .sum();
    let se = (sse / (m.n - 2.0) / m.sxx).sqrt();
    let t = if se > 0.0 {
        slope / se
    } else if slope == 0.0 {
        0.0
    } else {
        T_PERFECT.copysign(slope)
    };
    let r2 = if m.syy > 0.0 { 1.0 - sse / m.syy } else { 0.0 };
    Some(Fit {
        slope,
        intercept,
        t,
        r2,
    })
}

/// Pearson's r of paired samples and its t statistic `r * sqrt((n-2) / (1-r^2))`;
/// `None` with fewer than three pairs or a constant side.
pub(crate) fn pearson(pairs: &[(f64, f64)]) -> Option<(f64, f64)> {
    let m = Moments::of(pairs)?;
    if m.sxx <= 0.0 || m.syy <= 0.0 {
        return None;
    }
    let r = (m.sxy / (m.sxx * m.syy).sqrt()).clamp(-1.0, 1.0);
    let t = if r.abs() < 1.0 {
        r * ((m.n - 2.0) / (1.0 - r * r)).sqrt()
    } else {
        T_PERFECT.copysign(r)
    };
    Some((r, t))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_recovers_a_noisy_line() {
        let pts: Vec<_> = (0..24)
            .map(|i| {
                let x = f64::from(i);
                (x, 100.0 + 2.0 * x + if i % 2 == 0 { 1.0 } else { -1.0 })
            })
            .collect();
        let f = linear_fit(&pts).unwrap();
        assert!((f.slope - 2.0).abs() < 0.05, "{f:?}");
        assert!(f.t > 20.0);
        assert!((f.at(0.0) - 100.0).abs() < 1.0);
    }

    #[test]
    fn flat_noise_is_not_significant() {
        let pts: Vec<_> = (0..24)
            .map(|i| (f64::from(i), if i % 3 == 0 { 101.0 } else { 99.5 }))
            .collect();
        assert!(linear_fit(&pts).unwrap().t.abs() < 2.0);
        assert!(linear_fit(&pts[..2]).is_none());
    }

    #[test]
    fn pearson_signs_and_degenerate_cases() {
        let up: Vec<_> = (0..10).map(|i| (f64::from(i), f64::from(i * 3))).collect();
        assert_eq!(pearson(&up).unwrap().0, 1.0);
        let down: Vec<_> = (0..10).map(|i| (f64::from(i), -f64::from(i))).collect();
        assert_eq!(pearson(&down).unwrap().0, -1.0);
        let flat: Vec<_> = (0..10).map(|i| (f64::from(i), 1.0)).collect();
        assert!(pearson(&flat).is_none());
    }
}
