//! Samplers: how a sweep picks configurations from its search space.
//!
//! Every sampler turns a trial number into a point of the unit cube (one coordinate per
//! dimension), and [`Space::decode`] turns the point into parameter values; so samplers share
//! one contract (tested in `space.rs`): points in [0, 1), the same seed gives the same points,
//! another seed other points. `grid` enumerates instead; the adaptive TPE (`tpe.rs`) works
//! in the same cube but asks with the history of finished trials.

use quantsweep_core::{ParamValue, Params, SplitMix64};

/// A seeded stream of points in the unit cube.
pub(crate) trait UnitSampler {
    /// The next point, `dims` coordinates in [0, 1).
    fn next_point(&mut self) -> Vec<f64>;
}

/// Independent uniform points.
pub(crate) struct Random {
    rng: SplitMix64,
    dims: usize,
}

impl Random {
    pub fn new(dims: usize, seed: u64) -> Self {
        Random { rng: SplitMix64(seed ^ 0x5EED_0F5A_3D1E), dims }
    }
}

impl UnitSampler for Random {
    fn next_point(&mut self) -> Vec<f64> {
        (0..self.dims).map(|_| self.rng.uniform()).collect()
    }
}

/// Sobol' points (Joe & Kuo's direction numbers, Gray-code order), scrambled as SciPy's
/// `qmc.Sobol(scramble=True)` does: a random linear matrix scramble of each dimension's
/// direction numbers and a random digital shift. Up to 64 dimensions.
pub(crate) struct Sobol {
    /// Per dimension, 32 direction numbers (bit 31 is the first binary digit).
    directions: Vec<[u32; 32]>,
    /// The last point, digitally shifted (the first point is the shift itself).
    state: Vec<u32>,
    index: u64,
}

/// The most dimensions [`Sobol`] has direction numbers for.
pub(crate) const SOBOL_MAX_DIMS: usize = SOBOL.len();

impl Sobol {
    /// Unscrambled with `seed: None`.
    pub fn new(dims: usize, seed: Option<u64>) -> Self {
        let mut rng = seed.map(|s| SplitMix64(s ^ 0x50B0_1000_0000_0001));
        let mut directions: Vec<[u32; 32]> =
            (0..dims.min(SOBOL_MAX_DIMS)).map(direction_numbers).collect();
        let mut shift = vec![0u32; directions.len()];
        if let Some(rng) = rng.as_mut() {
            for (v, s) in directions.iter_mut().zip(&mut shift) {
                // Lower-triangular binary matrix with a unit diagonal, row r (from the top bit)
                // mixing in random earlier bits: output bit r = parity(row_r & v).
                let rows: Vec<u32> = (0..32)
                    .map(|r| {
                        let diagonal = 1u32 << (31 - r);
                        let above = if r == 0 {
                            0
                        } else {
                            (rng.next_u64() as u32) & !((1u32 << (32 - r)) - 1)
                        };
                        diagonal | above
                    })
                    .collect();
                for d in v.iter_mut() {
                    let mut out = 0u32;
                    for (r, row) in rows.iter().enumerate() {
                        out |= ((row & *d).count_ones() & 1) << (31 - r);
                    }
                    *d = out;
                }
                *s = rng.next_u64() as u32;
            }
        }
        Sobol { directions, state: shift, index: 0 }
    }
}

impl UnitSampler for Sobol {
    fn next_point(&mut self) -> Vec<f64> {
        if self.index > 0 {
            // Gray-code order: flip the direction of the lowest zero bit of index − 1.
            let bit = (!(self.index - 1)).trailing_zeros() as usize;
            for (x, v) in self.state.iter_mut().zip(&self.directions) {
                *x ^= v[bit.min(31)];
            }
        }
        self.index += 1;
        self.state.iter().map(|&x| f64::from(x) / 4_294_967_296.0).collect()
    }
}

/// Dimension `d`'s 32 direction numbers from its primitive polynomial and initial numbers.
fn direction_numbers(d: usize) -> [u32; 32] {
    let mut v = [0u32; 32];
    if d == 0 {
        for (k, x) in v.iter_mut().enumerate() {
            *x = 1 << (31 - k);
        }
        return v;
    }
    let (poly, init) = SOBOL[d];
    let degree = (32 - poly.leading_zeros() - 1) as usize;
    let mut m = [0u32; 32];
    m[..degree].copy_from_slice(&init[..degree]);
    for k in degree..32 {
        // m_k = m_{k−s} ⊕ 2^s·m_{k−s} ⊕ Σ_{i=1}^{s−1} a_i·2^i·m_{k−i}
        let mut x = m[k - degree] ^ (m[k - degree] << degree);
        for i in 1..degree {
            if (poly >> (degree - i)) & 1 == 1 {
                x ^= m[k - i] << i;
            }
        }
        m[k] = x;
    }
    for k in 0..32 {
        v[k] = m[k] << (31 - k);
    }
    v
}

/// Grid points of one parameter: its values in order.
pub(crate) fn grid(values: &[(String, Vec<ParamValue>)]) -> Vec<Params> {
    let mut configs: Vec<Params> = vec![Params::new()];
    for (key, vs) in values {
        configs = configs
            .into_iter()
            .flat_map(|p| {
                vs.iter().map(move |v| {
                    let mut p = p.clone();
                    p.insert(key.clone(), v.clone());
                    p
                })
            })
            .collect();
    }
    configs
}

// Joe & Kuo's new-joe-kuo-6.21201 (the table SciPy ships), first 64 dimensions:
// (primitive polynomial with its leading and trailing 1 bits, initial direction numbers).
//   d = np.load(".../scipy/stats/_sobol_direction_numbers.npz")
//   for j in range(64): print((int(d["poly"][j]), list(d["vinit"][j][:10])))
const SOBOL: [(u32, [u32; 10]); 64] = [
    (1, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    (3, [1, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
    (7, [1, 3, 0, 0, 0, 0, 0, 0, 0, 0]),
    (11, [1, 3, 1, 0, 0, 0, 0, 0, 0, 0]),
    (13, [1, 1, 1, 0, 0, 0, 0, 0, 0, 0]),
    (19, [1, 1, 3, 3, 0, 0, 0, 0, 0, 0]),
    (25, [1, 3, 5, 13, 0, 0, 0, 0, 0, 0]),
    (37, [1, 1, 5, 5, 17, 0, 0, 0, 0, 0]),
    (41, [1, 1, 5, 5, 5, 0, 0, 0, 0, 0]),
    (47, [1, 1, 7, 11, 19, 0, 0, 0, 0, 0]),
    (55, [1, 1, 5, 1, 1, 0, 0, 0, 0, 0]),
    (59, [1, 1, 1, 3, 11, 0, 0, 0, 0, 0]),
    (61, [1, 3, 5, 5, 31, 0, 0, 0, 0, 0]),
    (67, [1, 3, 3, 9, 7, 49, 0, 0, 0, 0]),
    (91, [1, 1, 1, 15, 21, 21, 0, 0, 0, 0]),
    (97, [1, 3, 1, 13, 27, 49, 0, 0, 0, 0]),
    (103, [1, 1, 1, 15, 7, 5, 0, 0, 0, 0]),
    (109, [1, 3, 1, 15, 13, 25, 0, 0, 0, 0]),
    (115, [1, 1, 5, 5, 19, 61, 0, 0, 0, 0]),
    (131, [1, 3, 7, 11, 23, 15, 103, 0, 0, 0]),
    (137, [1, 3, 7, 13, 13, 15, 69, 0, 0, 0]),
    (143, [1, 1, 3, 13, 7, 35, 63, 0, 0, 0]),
    (145, [1, 3, 5, 9, 1, 25, 53, 0, 0, 0]),
    (157, [1, 3, 1, 13, 9, 35, 107, 0, 0, 0]),
    (167, [1, 3, 1, 5, 27, 61, 31, 0, 0, 0]),
    (171, [1, 1, 5, 11, 19, 41, 61, 0, 0, 0]),
    (185, [1, 3, 5, 3, 3, 13, 69, 0, 0, 0]),
    (191, [1, 1, 7, 13, 1, 19, 1, 0, 0, 0]),
    (193, [1, 3, 7, 5, 13, 19, 59, 0, 0, 0]),
    (203, [1, 1, 3, 9, 25, 29, 41, 0, 0, 0]),
    (211, [1, 3, 5, 13, 23, 1, 55, 0, 0, 0]),
    (213, [1, 3, 7, 3, 13, 59, 17, 0, 0, 0]),
    (229, [1, 3, 1, 3, 5, 53, 69, 0, 0, 0]),
    (239, [1, 1, 5, 5, 23, 33, 13, 0, 0, 0]),
    (241, [1, 1, 7, 7, 1, 61, 123, 0, 0, 0]),
    (247, [1, 1, 7, 9, 13, 61, 49, 0, 0, 0]),
    (253, [1, 3, 3, 5, 3, 55, 33, 0, 0, 0]),
    (285, [1, 3, 1, 15, 31, 13, 49, 245, 0, 0]),
    (299, [1, 3, 5, 15, 31, 59, 63, 97, 0, 0]),
    (301, [1, 3, 1, 11, 11, 11, 77, 249, 0, 0]),
    (333, [1, 3, 1, 11, 27, 43, 71, 9, 0, 0]),
    (351, [1, 1, 7, 15, 21, 11, 81, 45, 0, 0]),
    (355, [1, 3, 7, 3, 25, 31, 65, 79, 0, 0]),
    (357, [1, 3, 1, 1, 19, 11, 3, 205, 0, 0]),
    (361, [1, 1, 5, 9, 19, 21, 29, 157, 0, 0]),
    (369, [1, 3, 7, 11, 1, 33, 89, 185, 0, 0]),
    (391, [1, 3, 3, 3, 15, 9, 79, 71, 0, 0]),
    (397, [1, 3, 7, 11, 15, 39, 119, 27, 0, 0]),
    (425, [1, 1, 3, 1, 11, 31, 97, 225, 0, 0]),
    (451, [1, 1, 1, 3, 23, 43, 57, 177, 0, 0]),
    (463, [1, 3, 7, 7, 17, 17, 37, 71, 0, 0]),
    (487, [1, 3, 1, 5, 27, 63, 123, 213, 0, 0]),
    (501, [1, 1, 3, 5, 11, 43, 53, 133, 0, 0]),
    (529, [1, 3, 5, 5, 29, 17, 47, 173, 479, 0]),
    (539, [1, 3, 3, 11, 3, 1, 109, 9, 69, 0]),
    (545, [1, 1, 1, 5, 17, 39, 23, 5, 343, 0]),
    (557, [1, 3, 1, 5, 25, 15, 31, 103, 499, 0]),
    (563, [1, 1, 1, 11, 11, 17, 63, 105, 183, 0]),
    (601, [1, 1, 5, 11, 9, 29, 97, 231, 363, 0]),
    (607, [1, 1, 5, 15, 19, 45, 41, 7, 383, 0]),
    (617, [1, 3, 7, 7, 31, 19, 83, 137, 221, 0]),
    (623, [1, 1, 1, 3, 23, 15, 111, 223, 83, 0]),
    (631, [1, 1, 5, 13, 31, 15, 55, 25, 161, 0]),
    (637, [1, 1, 3, 13, 25, 47, 39, 87, 257, 0]),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Unscrambled, the points equal SciPy's `qmc.Sobol(d=64, scramble=False)` (as 32-bit
    /// integers, dimensions 0, 1, 2, 9, 20, 40, 63):
    ///   x = qmc.Sobol(d=64, scramble=False).random(256); (x[i] * 2**32).astype(np.uint64)
    #[test]
    fn unscrambled_points_equal_scipy() {
        let mut s = Sobol::new(64, None);
        let points: Vec<Vec<f64>> = (0..256).map(|_| s.next_point()).collect();
        let want: [(usize, [u64; 7]); 6] = [
            (
                1,
                [
                    2147483648, 2147483648, 2147483648, 2147483648, 2147483648, 2147483648,
                    2147483648,
                ],
            ),
            (
                2,
                [
                    3221225472, 1073741824, 1073741824, 3221225472, 1073741824, 1073741824,
                    3221225472,
                ],
            ),
            (
                3,
                [
                    1073741824, 3221225472, 3221225472, 1073741824, 3221225472, 3221225472,
                    1073741824,
                ],
            ),
            (5, [3758096384, 3758096384, 536870912, 536870912, 2684354560, 1610612736, 2684354560]),
            (
                100,
                [
                    1778384896, 1107296256, 3321888768, 2986344448, 3254779904, 3053453312,
                    2785017856,
                ],
            ),
            (
                255,
                [16777216, 4278190080, 3305111552, 1526726656, 1358954496, 150994944, 1459617792],
            ),
        ];
        for (i, w) in want {
            let got: Vec<u64> = [0, 1, 2, 9, 20, 40, 63]
                .iter()
                .map(|&d| (points[i][d] * 4_294_967_296.0) as u64)
                .collect();
            assert_eq!(got, w, "point {i}");
        }
    }

    /// Scrambled points keep the (0, m, s)-net property in each dimension: the first 2^m
    /// points put exactly one point in each of the 2^m intervals of [0, 1).
    #[test]
    fn scrambled_points_stay_stratified() {
        let mut s = Sobol::new(8, Some(3));
        let points: Vec<Vec<f64>> = (0..64).map(|_| s.next_point()).collect();
        for d in 0..8 {
            let mut seen = [false; 64];
            for p in &points {
                seen[(p[d] * 64.0) as usize] = true;
            }
            assert!(seen.iter().all(|&b| b), "dimension {d}");
        }
        let mut other = Sobol::new(8, Some(4));
        assert_ne!(points[5], other.next_point());
    }
}
