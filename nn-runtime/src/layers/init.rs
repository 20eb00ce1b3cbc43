//! Weight initialisation schemes.

use crate::kernels::math;
use crate::Rng;

/// How a layer's weights (and biases) are initialised. Chosen in the DSL with `init = ...`.
///
/// `fan_in` is the number of inputs feeding one output unit (`I` for `Linear`, `C·K·K` for `Conv2d`) and
/// `fan_out` the number of outputs one input feeds (`O`, `O·K·K`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Init {
    /// PyTorch's default for `nn.Linear` and `nn.Conv2d`: weights and biases uniform in `±1/√fan_in`
    /// (`kaiming_uniform_` with `a = √5`).
    #[default]
    PyTorch,
    /// Glorot & Bengio (2010): uniform in `±√(6 / (fan_in + fan_out))`; biases zero.
    XavierUniform,
    /// Glorot & Bengio (2010): normal with std `√(2 / (fan_in + fan_out))`; biases zero.
    XavierNormal,
    /// He et al. (2015), for ReLU units: uniform in `±√(6 / fan_in)`; biases zero.
    HeUniform,
    /// He et al. (2015), for ReLU units: normal with std `√(2 / fan_in)`; biases zero.
    HeNormal,
}

impl Init {
    /// Fills `weights` for a unit with the given fans.
    pub fn fill_weights(self, weights: &mut [f32], fan_in: usize, fan_out: usize, rng: &mut Rng) {
        let (fi, fo) = (fan_in as f32, fan_out as f32);
        match self {
            Init::PyTorch => fill_uniform(weights, 1.0 / math::sqrt(fi), rng),
            Init::XavierUniform => fill_uniform(weights, math::sqrt(6.0 / (fi + fo)), rng),
            Init::XavierNormal => fill_normal(weights, math::sqrt(2.0 / (fi + fo)), rng),
            Init::HeUniform => fill_uniform(weights, math::sqrt(6.0 / fi), rng),
            Init::HeNormal => fill_normal(weights, math::sqrt(2.0 / fi), rng),
        }
    }

    /// Fills `bias`: PyTorch's uniform `±1/√fan_in` for the default scheme, zeros for the others.
    pub fn fill_bias(self, bias: &mut [f32], fan_in: usize, rng: &mut Rng) {
        match self {
            Init::PyTorch => fill_uniform(bias, 1.0 / math::sqrt(fan_in as f32), rng),
            _ => bias.fill(0.0),
        }
    }
}

fn fill_uniform(values: &mut [f32], bound: f32, rng: &mut Rng) {
    values.iter_mut().for_each(|v| *v = rng.uniform(-bound, bound));
}

fn fill_normal(values: &mut [f32], std: f32, rng: &mut Rng) {
    values.iter_mut().for_each(|v| *v = rng.normal(0.0, std));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(init: Init, fan_in: usize, fan_out: usize) -> (f32, f32, f32) {
        let mut w = vec![0.0; 40_000];
        init.fill_weights(&mut w, fan_in, fan_out, &mut Rng::new(1, 0));
        let mean = w.iter().sum::<f32>() / w.len() as f32;
        let std = (w.iter().map(|v| (v - mean).powi(2)).sum::<f32>() / w.len() as f32).sqrt();
        let max = w.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        (mean, std, max)
    }

    #[test]
    fn each_scheme_has_its_published_spread() {
        // Uniform(±b) has std b/√3.
        let cases = [
            (Init::PyTorch, 1.0 / 100f32.sqrt() / 3f32.sqrt(), Some(0.1)),
            (Init::XavierUniform, (6.0f32 / 150.0).sqrt() / 3f32.sqrt(), Some((6.0f32 / 150.0).sqrt())),
            (Init::XavierNormal, (2.0f32 / 150.0).sqrt(), None),
            (Init::HeUniform, (6.0f32 / 100.0).sqrt() / 3f32.sqrt(), Some((6.0f32 / 100.0).sqrt())),
            (Init::HeNormal, (2.0f32 / 100.0).sqrt(), None),
        ];
        for (init, std, bound) in cases {
            let (m, s, max) = moments(init, 100, 50);
            assert!(m.abs() < 0.01 * std.max(0.01) * 10.0, "{init:?} mean {m}");
            assert!((s - std).abs() < 0.03 * std, "{init:?} std {s}, expected {std}");
            if let Some(b) = bound {
                assert!(max <= b, "{init:?} exceeds its bound");
            }
        }
    }

    #[test]
    fn biases_are_zero_except_for_the_pytorch_default() {
        let mut b = [1.0; 8];
        Init::HeNormal.fill_bias(&mut b, 4, &mut Rng::new(0, 0));
        assert_eq!(b, [0.0; 8]);
        Init::PyTorch.fill_bias(&mut b, 4, &mut Rng::new(0, 0));
        assert!(b.iter().all(|v| v.abs() <= 0.5) && b.iter().any(|v| *v != 0.0));
    }
}
