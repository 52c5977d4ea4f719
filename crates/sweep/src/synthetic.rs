//! Standard test functions for samplers (Surjanovic & Bingham's Virtual Library of Simulation
//! Experiments definitions), each with its domain and known global minimum: the objective of
//! `objective: {kind: synthetic, function: ...}` sweeps and of the sampler benchmarks.

use serde::{Deserialize, Serialize};

/// A test function to minimise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Synthetic {
    /// Branin-Hoo, 2-D on x1 ∈ [−5, 10], x2 ∈ [0, 15]; minimum 0.397887 at three points.
    Branin,
    /// Hartmann, 6-D on [0, 1]⁶; minimum −3.32237.
    Hartmann6,
    /// Rosenbrock, any dimension on [−5, 10]ᵈ; minimum 0 at (1, …, 1).
    Rosenbrock,
    /// Ackley, any dimension on [−32.768, 32.768]ᵈ; minimum 0 at the origin.
    Ackley,
    /// Levy, any dimension on [−10, 10]ᵈ; minimum 0 at (1, …, 1).
    Levy,
    /// Styblinski–Tang, any dimension on [−5, 5]ᵈ; minimum −39.16617·d at (−2.903534, …).
    StyblinskiTang,
}

impl Synthetic {
    /// The dimension it is defined in (None: any, at least 1).
    pub fn dims(self) -> Option<usize> {
        match self {
            Synthetic::Branin => Some(2),
            Synthetic::Hartmann6 => Some(6),
            _ => None,
        }
    }

    /// The domain of coordinate `i`.
    pub fn bounds(self, i: usize) -> (f64, f64) {
        match self {
            Synthetic::Branin if i == 0 => (-5.0, 10.0),
            Synthetic::Branin => (0.0, 15.0),
            Synthetic::Hartmann6 => (0.0, 1.0),
            Synthetic::Rosenbrock => (-5.0, 10.0),
            Synthetic::Ackley => (-32.768, 32.768),
            Synthetic::Levy => (-10.0, 10.0),
            Synthetic::StyblinskiTang => (-5.0, 5.0),
        }
    }

    /// The global minimum in `d` dimensions.
    pub fn minimum(self, d: usize) -> f64 {
        match self {
            Synthetic::Branin => 0.397_887_357_729_738_2,
            Synthetic::Hartmann6 => -3.322_368_011_415_515,
            Synthetic::Rosenbrock | Synthetic::Ackley | Synthetic::Levy => 0.0,
            Synthetic::StyblinskiTang => -39.166_165_703_771_41 * d as f64,
        }
    }

    /// The function at `x`.
    pub fn value(self, x: &[f64]) -> f64 {
        use std::f64::consts::PI;
        match self {
            Synthetic::Branin => {
                let (a, b, c) = (1.0, 5.1 / (4.0 * PI * PI), 5.0 / PI);
                let (r, s, t) = (6.0, 10.0, 1.0 / (8.0 * PI));
                a * (x[1] - b * x[0] * x[0] + c * x[0] - r).powi(2) + s * (1.0 - t) * x[0].cos() + s
            }
            Synthetic::Hartmann6 => {
                const ALPHA: [f64; 4] = [1.0, 1.2, 3.0, 3.2];
                const A: [[f64; 6]; 4] = [
                    [10.0, 3.0, 17.0, 3.5, 1.7, 8.0],
                    [0.05, 10.0, 17.0, 0.1, 8.0, 14.0],
                    [3.0, 3.5, 1.7, 10.0, 17.0, 8.0],
                    [17.0, 8.0, 0.05, 10.0, 0.1, 14.0],
                ];
                const P: [[f64; 6]; 4] = [
                    [0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
                    [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
                    [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
                    [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381],
                ];
                -(0..4)
                    .map(|i| {
                        let inner: f64 = (0..6).map(|j| A[i][j] * (x[j] - P[i][j]).powi(2)).sum();
                        ALPHA[i] * (-inner).exp()
                    })
                    .sum::<f64>()
            }
            Synthetic::Rosenbrock => x
                .windows(2)
                .map(|w| 100.0 * (w[1] - w[0] * w[0]).powi(2) + (w[0] - 1.0).powi(2))
                .sum(),
            Synthetic::Ackley => {
                let d = x.len() as f64;
                let sq = (x.iter().map(|v| v * v).sum::<f64>() / d).sqrt();
                let cos = x.iter().map(|v| (2.0 * PI * v).cos()).sum::<f64>() / d;
                -20.0 * (-0.2 * sq).exp() - cos.exp() + 20.0 + std::f64::consts::E
            }
            Synthetic::Levy => {
                let w: Vec<f64> = x.iter().map(|v| 1.0 + (v - 1.0) / 4.0).collect();
                let last = w[w.len() - 1];
                let middle: f64 = w[..w.len() - 1]
                    .iter()
                    .map(|wi| (wi - 1.0).powi(2) * (1.0 + 10.0 * (PI * wi + 1.0).sin().powi(2)))
                    .sum();
                (PI * w[0]).sin().powi(2)
                    + middle
                    + (last - 1.0).powi(2) * (1.0 + (2.0 * PI * last).sin().powi(2))
            }
            Synthetic::StyblinskiTang => {
                x.iter().map(|v| v.powi(4) - 16.0 * v * v + 5.0 * v).sum::<f64>() / 2.0
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each function takes its published minimum at its published minimiser, and nothing
    /// lower on a grid over its domain.
    #[test]
    fn minima_are_where_the_library_says() {
        let at = [
            (Synthetic::Branin, vec![std::f64::consts::PI, 2.275]),
            (Synthetic::Branin, vec![-std::f64::consts::PI, 12.275]),
            (Synthetic::Hartmann6, vec![0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573]),
            (Synthetic::Rosenbrock, vec![1.0; 4]),
            (Synthetic::Ackley, vec![0.0; 3]),
            (Synthetic::Levy, vec![1.0; 5]),
            (Synthetic::StyblinskiTang, vec![-2.903_534; 3]),
        ];
        for (f, x) in at {
            let (got, want) = (f.value(&x), f.minimum(x.len()));
            assert!((got - want).abs() < 1e-4, "{f:?}: {got} want {want}");
        }
        for f in [
            Synthetic::Branin,
            Synthetic::Rosenbrock,
            Synthetic::Ackley,
            Synthetic::Levy,
            Synthetic::StyblinskiTang,
        ] {
            let (lo0, hi0) = f.bounds(0);
            let (lo1, hi1) = f.bounds(1);
            for i in 0..=60 {
                for j in 0..=60 {
                    let x =
                        [lo0 + (hi0 - lo0) * i as f64 / 60.0, lo1 + (hi1 - lo1) * j as f64 / 60.0];
                    assert!(f.value(&x) >= f.minimum(2) - 1e-9, "{f:?} at {x:?}");
                }
            }
        }
    }
}
