//! Forward values of generated networks against direct loops written here, independently of the runtime's
//! im2col/GEMM kernels.

// The reference loops below read best as the index arithmetic of the formulas they implement.
#![allow(clippy::needless_range_loop)]

mod common;

use common::random_samples;
use nn::prelude::*;

network! {
    struct ConvNet {
        Input<2, 9, 7>
        -> conv: Conv2d<2, 3, 3, stride = 2, padding = 1>
        -> pool: MaxPool<2, 1>
        -> avg: AvgPool<2, 2>
        -> Flatten
        -> fc: Linear<6, 4>
    }
}

/// Direct convolution: `y[o][i][j] = b[o] + Σ w[o][c][ki][kj] · x[c][i·s+ki−p][j·s+kj−p]` (zero outside).
fn conv<const C: usize, const H: usize, const W: usize, const O: usize, const K: usize>(
    x: &[[[f32; W]; H]; C],
    w: &[[[[f32; K]; K]; C]; O],
    b: &[f32; O],
    s: usize,
    p: usize,
) -> Vec<Vec<Vec<f32>>> {
    let oh = (H + 2 * p - K) / s + 1;
    let ow = (W + 2 * p - K) / s + 1;
    let mut y = vec![vec![vec![0.0; ow]; oh]; O];
    for o in 0..O {
        for i in 0..oh {
            for j in 0..ow {
                let mut acc = b[o];
                for c in 0..C {
                    for ki in 0..K {
                        for kj in 0..K {
                            let r = (i * s + ki) as isize - p as isize;
                            let q = (j * s + kj) as isize - p as isize;
                            if (0..H as isize).contains(&r) && (0..W as isize).contains(&q) {
                                acc += w[o][c][ki][kj] * x[c][r as usize][q as usize];
                            }
                        }
                    }
                }
                y[o][i][j] = acc;
            }
        }
    }
    y
}

fn pool(x: &[Vec<Vec<f32>>], k: usize, s: usize, max: bool) -> Vec<Vec<Vec<f32>>> {
    x.iter()
        .map(|plane| {
            let (h, w) = (plane.len(), plane[0].len());
            (0..(h - k) / s + 1)
                .map(|i| {
                    (0..(w - k) / s + 1)
                        .map(|j| {
                            let window = (0..k).flat_map(|a| (0..k).map(move |b| (a, b)));
                            let values: Vec<f32> = window.map(|(a, b)| plane[i * s + a][j * s + b]).collect();
                            if max {
                                values.iter().copied().fold(f32::NEG_INFINITY, f32::max)
                            } else {
                                values.iter().sum::<f32>() / values.len() as f32
                            }
                        })
                        .collect()
                })
                .collect()
        })
        .collect()
}

#[test]
fn conv_pool_linear_network_matches_direct_loops() {
    let mut net = ConvNet::new(3);
    let xs = random_samples::<[[[f32; 7]; 9]; 2]>(5, -1.0, 1.0, 1);
    let ys = net.predict(&xs);
    for (x, y) in xs.iter().zip(&ys) {
        let c = conv(x, net.conv.weight(&net.params), net.conv.bias(&net.params).unwrap(), 2, 1);
        assert_eq!((c.len(), c[0].len(), c[0][0].len()), (3, 5, 4));
        let m = pool(&c, 2, 1, true);
        let a = pool(&m, 2, 2, false);
        let flat: Vec<f32> = a.iter().flatten().flatten().copied().collect();
        assert_eq!(flat.len(), 6);
        let (w, b) = (net.fc.weight(&net.params), net.fc.bias(&net.params).unwrap());
        for o in 0..4 {
            let want = b[o] + (0..6).map(|i| w[o][i] * flat[i]).sum::<f32>();
            assert!((y[o] - want).abs() < 1e-5, "output {o}: {} vs {want}", y[o]);
        }
    }
}

network! {
    struct Tiny {
        Input<2> -> fc: Linear<2, 2> -> ReLU -> out: Linear<2, 1, bias = false>
    }
}

#[test]
fn hand_worked_linear_relu_network() {
    let mut net = Tiny::new(0);
    *net.fc.weight_mut(&mut net.params) = [[1.0, -1.0], [2.0, 0.5]];
    *net.fc.bias_mut(&mut net.params).unwrap() = [0.5, -3.0];
    *net.out.weight_mut(&mut net.params) = [[2.0, -1.0]];
    assert!(net.out.bias(&net.params).is_none());
    // x = (1, 2): fc = (1 − 2 + 0.5, 2 + 1 − 3) = (−0.5, 0) → ReLU (0, 0) → 0
    assert_eq!(net.forward(&[1.0, 2.0]), [0.0]);
    // x = (3, 1): fc = (2.5, 3.5) → out = 5 − 3.5 = 1.5
    assert_eq!(net.forward(&[3.0, 1.0]), [1.5]);
    assert_eq!(net.params.len(), 6 + 2);
    assert_eq!(net.param("fc.weight"), Some(&[1.0, -1.0, 2.0, 0.5][..]));
}
