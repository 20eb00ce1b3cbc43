//! Loss functions: the batch mean of a per-sample loss, and its gradient with respect to the network's output.
//!
//! A network whose output is a sequence takes one target per step (`[usize; T]` or `Vec<usize>` for the
//! classifier losses, an array or `Vec` of output-sized arrays for the others), and the loss is the mean over
//! every valid step of the batch — PyTorch's `cross_entropy` over the flattened `[B·T, C]` logits and targets.

use crate::kernels::sigmoid;
use crate::sample::{Example, Sample};
use crate::{Error, Result};
use std::ops::Range;

/// A loss over network outputs of type `O`.
pub trait Loss<O: Example>: Sync {
    /// What one sample's target is: a class index for [`CrossEntropy`], an array like the output for [`Mse`];
    /// one per step for a sequence output.
    type Target: Sync;

    /// How many terms one sample adds to the batch's mean: 1, or a sequence's steps. The batch's loss is the sum
    /// of every sample's terms divided by their count; a loss summed over the batch rather than averaged (see
    /// [`Sum`]) counts 0 terms, and the batch's loss is then the plain sum.
    fn terms(&self, _target: &Self::Target) -> usize {
        1
    }

    /// Whether each term is a mean over the values of its row (the element-wise losses: [`Mse`],
    /// [`BinaryCrossEntropy`], [`BinaryCrossEntropyWithLogits`]) rather than one value per row (the classifier
    /// losses). [`Sum`] multiplies the former back into sums.
    fn averages_values(&self) -> bool {
        false
    }

    /// Steps `steps` of a per-step target, written into `out`, for training in windows (truncated
    /// backpropagation through time); `false` if the target is not one per step of any length (a sample's
    /// single target, used whole in the window where its sequence ends).
    fn window_target(&self, _target: &Self::Target, _steps: Range<usize>, _out: &mut Self::Target) -> bool {
        false
    }

    /// Returns `scale ×` the sum of one sample's terms (`output` holds its values: a sequence's valid steps
    /// only) and writes the gradient of that with respect to `output` into `grad`. `index` is the sample's
    /// position in the batch, for error messages.
    ///
    /// # Errors
    /// A target out of range, or targets that do not match a sequence's steps.
    fn sample_loss(
        &self,
        output: &[f32],
        target: &Self::Target,
        index: usize,
        scale: f32,
        grad: &mut [f32],
    ) -> Result<f32>;
}

/// Sums `row` over the steps (`width` values each) of one sample's sequence output, one target per step.
fn per_step<T>(
    output: &[f32],
    targets: &[T],
    width: usize,
    index: usize,
    grad: &mut [f32],
    mut row: impl FnMut(&[f32], &T, &mut [f32]) -> Result<f32>,
) -> Result<f32> {
    let steps = output.len() / width;
    if steps != targets.len() {
        return Err(Error::StepMismatch { index, steps, given: targets.len(), what: "targets" });
    }
    let mut total = 0.0;
    for ((y, t), g) in output.chunks_exact(width).zip(targets).zip(grad.chunks_exact_mut(width)) {
        total += row(y, t, g)?;
    }
    Ok(total)
}

/// `row`'s loss of one row against class `target`, or an error if the row has no such class.
fn classed(
    row: fn(&[f32], usize, f32, &mut [f32]) -> f32,
    output: &[f32],
    target: usize,
    index: usize,
    scale: f32,
    grad: &mut [f32],
) -> Result<f32> {
    if target >= output.len() {
        return Err(Error::LabelOutOfRange { label: target, index, classes: output.len() });
    }
    Ok(row(output, target, scale, grad))
}

/// Declares the sequence forms of a classifier loss (one class index per step).
macro_rules! per_step_classes {
    ($loss:ty, $row:expr) => {
        impl<const N: usize> Loss<[f32; N]> for $loss {
            type Target = usize;

            fn sample_loss(
                &self,
                output: &[f32],
                &target: &usize,
                index: usize,
                scale: f32,
                grad: &mut [f32],
            ) -> Result<f32> {
                classed($row, output, target, index, scale, grad)
            }
        }

        impl<const N: usize, const T: usize> Loss<[[f32; N]; T]> for $loss {
            type Target = [usize; T];

            fn terms(&self, _: &[usize; T]) -> usize {
                T
            }

            fn sample_loss(
                &self,
                output: &[f32],
                target: &[usize; T],
                index: usize,
                scale: f32,
                grad: &mut [f32],
            ) -> Result<f32> {
                per_step(output, target, N, index, grad, |y, &t, g| classed($row, y, t, index, scale, g))
            }
        }

        impl<const N: usize> Loss<Vec<[f32; N]>> for $loss {
            type Target = Vec<usize>;

            fn terms(&self, target: &Vec<usize>) -> usize {
                target.len()
            }

            fn window_target(&self, target: &Vec<usize>, steps: Range<usize>, out: &mut Vec<usize>) -> bool {
                out.clear();
                out.extend_from_slice(&target[steps]);
                true
            }

            fn sample_loss(
                &self,
                output: &[f32],
                target: &Vec<usize>,
                index: usize,
                scale: f32,
                grad: &mut [f32],
            ) -> Result<f32> {
                per_step(output, target, N, index, grad, |y, &t, g| classed($row, y, t, index, scale, g))
            }
        }
    };
}

/// Declares the sequence form of an element-wise loss (one output-sized array per step).
macro_rules! per_step_values {
    ($loss:ty, $row:expr) => {
        impl<O: Sample> Loss<O> for $loss {
            type Target = O;

            fn averages_values(&self) -> bool {
                true
            }

            fn sample_loss(
                &self,
                output: &[f32],
                target: &O,
                _index: usize,
                scale: f32,
                grad: &mut [f32],
            ) -> Result<f32> {
                Ok($row(output, O::flat(std::slice::from_ref(target)), scale, grad))
            }
        }

        impl<const N: usize> Loss<Vec<[f32; N]>> for $loss {
            type Target = Vec<[f32; N]>;

            fn terms(&self, target: &Vec<[f32; N]>) -> usize {
                target.len()
            }

            fn averages_values(&self) -> bool {
                true
            }

            fn window_target(&self, target: &Vec<[f32; N]>, steps: Range<usize>, out: &mut Vec<[f32; N]>) -> bool {
                out.clear();
                out.extend_from_slice(&target[steps]);
                true
            }

            fn sample_loss(
                &self,
                output: &[f32],
                target: &Vec<[f32; N]>,
                index: usize,
                scale: f32,
                grad: &mut [f32],
            ) -> Result<f32> {
                per_step(output, target, N, index, grad, |y, t, g| Ok($row(y, t, scale, g)))
            }
        }
    };
}

/// Mean squared error, averaged over every output value (PyTorch's `MSELoss()`):
/// `L = 1/(B·N) Σ (y − t)²`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Mse;

per_step_values!(Mse, mse);

/// `scale ×` the mean of `(y − t)²` over one row, and its gradient.
fn mse(output: &[f32], target: &[f32], scale: f32, grad: &mut [f32]) -> f32 {
    let scale = scale / output.len() as f32;
    let mut sum = 0.0;
    for ((g, &y), &t) in grad.iter_mut().zip(output).zip(target) {
        let d = y - t;
        sum += d * d;
        *g = 2.0 * d * scale;
    }
    sum * scale
}

/// Cross-entropy of logits against a class index, averaged over the batch (PyTorch's `CrossEntropyLoss()`):
/// `L = logsumexp(z) − z_target`, gradient `softmax(z) − onehot(target)`.
///
/// Computed through log-sum-exp shifted by the largest logit, so it is finite for any finite logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CrossEntropy;

per_step_classes!(CrossEntropy, cross_entropy);

/// `scale ×` the cross-entropy of one row of logits, and its gradient.
fn cross_entropy(output: &[f32], target: usize, scale: f32, grad: &mut [f32]) -> f32 {
    let max = output.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (g, &z) in grad.iter_mut().zip(output) {
        *g = (z - max).exp();
        sum += *g;
    }
    let inv = scale / sum;
    grad.iter_mut().for_each(|g| *g *= inv);
    grad[target] -= scale;
    (sum.ln() + max - output[target]) * scale
}

/// Negative log-likelihood of log-probabilities against a class index, averaged over the batch (PyTorch's
/// `NLLLoss()`): `L = −y_target`, for networks that end in `LogSoftmax` — together they are [`CrossEntropy`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Nll;

per_step_classes!(Nll, nll);

/// `scale ×` the negative log-likelihood of one row, and its gradient.
fn nll(output: &[f32], target: usize, scale: f32, grad: &mut [f32]) -> f32 {
    grad.fill(0.0);
    grad[target] = -scale;
    -output[target] * scale
}

/// Cross-entropy of probabilities against a class index, averaged over the batch: `L = −ln p_target`, for
/// networks that end in `Softmax` (Keras's `categorical_crossentropy`).
///
/// Probabilities are clamped below at 1e-7 so a confident mistake costs at most `ln 1e7 ≈ 16.1` instead of
/// infinity. On logits prefer [`CrossEntropy`], which is exact for any logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CategoricalCrossEntropy;

per_step_classes!(CategoricalCrossEntropy, categorical_cross_entropy);

/// `scale ×` the cross-entropy of one row of probabilities, and its gradient.
fn categorical_cross_entropy(output: &[f32], target: usize, scale: f32, grad: &mut [f32]) -> f32 {
    const FLOOR: f32 = 1e-7;
    grad.fill(0.0);
    let p = output[target];
    if p > FLOOR {
        grad[target] = -scale / p;
    }
    -p.max(FLOOR).ln() * scale
}

/// Binary cross-entropy on logits, averaged over every output value (PyTorch's `BCEWithLogitsLoss()`):
/// `L = mean(max(z, 0) − z·t + ln(1 + e^(−|z|)))`, gradient `σ(z) − t`.
///
/// Targets are probabilities in `[0, 1]`, one per output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropyWithLogits;

per_step_values!(BinaryCrossEntropyWithLogits, binary_cross_entropy);

/// `scale ×` the mean binary cross-entropy of one row of logits, and its gradient.
fn binary_cross_entropy(output: &[f32], target: &[f32], scale: f32, grad: &mut [f32]) -> f32 {
    let scale = scale / output.len() as f32;
    let mut sum = 0.0;
    for ((g, &z), &t) in grad.iter_mut().zip(output).zip(target) {
        sum += z.max(0.0) - z * t + (-z.abs()).exp().ln_1p();
        *g = (sigmoid(z) - t) * scale;
    }
    sum * scale
}

/// Binary cross-entropy on probabilities, averaged over every output value (PyTorch's `BCELoss()`), for networks
/// that end in `Sigmoid` (an autoencoder's pixels):
/// `L = mean(−(t·ln y + (1 − t)·ln(1 − y)))`, each logarithm clamped below at −100 as PyTorch clamps it, so a
/// confident mistake costs 100 rather than infinity; gradient `(y − t) / max(y·(1 − y), 1e-12)`, as PyTorch's.
///
/// Targets are probabilities in `[0, 1]` (the input itself, for a reconstruction), one per output. On logits
/// prefer [`BinaryCrossEntropyWithLogits`], which is exact for any logits.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BinaryCrossEntropy;

per_step_values!(BinaryCrossEntropy, binary_cross_entropy_on_probabilities);

/// `scale ×` the mean binary cross-entropy of one row of probabilities, and its gradient.
fn binary_cross_entropy_on_probabilities(output: &[f32], target: &[f32], scale: f32, grad: &mut [f32]) -> f32 {
    const LOG_FLOOR: f32 = -100.0;
    const EPS: f32 = 1e-12;
    let scale = scale / output.len() as f32;
    let mut sum = 0.0;
    for ((g, &y), &t) in grad.iter_mut().zip(output).zip(target) {
        let (log_y, log_1_y) = (y.ln().max(LOG_FLOOR), (-y).ln_1p().max(LOG_FLOOR));
        sum -= t * log_y + (1.0 - t) * log_1_y;
        *g = (y - t) / (y * (1.0 - y)).max(EPS) * scale;
    }
    sum * scale
}

/// A loss summed over the batch instead of averaged (PyTorch's `reduction = "sum"`): over every value of every
/// sample for the element-wise losses (`Sum(BinaryCrossEntropy)` is the reconstruction term of PyTorch's VAE
/// example, `F.binary_cross_entropy(x̂, x, reduction="sum")`), over every sample (and step) for the classifier
/// losses. Its gradient is the sum's, so learning rates tuned for the mean must shrink by the batch's size.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sum<L>(pub L);

impl<O: Example, L: Loss<O>> Loss<O> for Sum<L> {
    type Target = L::Target;

    fn terms(&self, _target: &Self::Target) -> usize {
        0
    }

    fn window_target(&self, target: &Self::Target, steps: Range<usize>, out: &mut Self::Target) -> bool {
        self.0.window_target(target, steps, out)
    }

    fn sample_loss(
        &self,
        output: &[f32],
        target: &Self::Target,
        index: usize,
        scale: f32,
        grad: &mut [f32],
    ) -> Result<f32> {
        // An element-wise loss's term is a mean over a row of values (a sequence has one row per step).
        let values = if self.0.averages_values() { output.len() / self.0.terms(target).max(1) } else { 1 };
        self.0.sample_loss(output, target, index, scale * values as f32, grad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Central differences of `f` at `x`, in f64 around the f32 loss.
    fn check_gradient(f: &dyn Fn(&[f32], &mut [f32]) -> f32, x: &[f32]) {
        let mut grad = vec![0.0; x.len()];
        f(x, &mut grad);
        let eps = 1e-3;
        for i in 0..x.len() {
            let mut scratch = vec![0.0; x.len()];
            let (mut hi, mut lo) = (x.to_vec(), x.to_vec());
            hi[i] += eps;
            lo[i] -= eps;
            let numeric = (f(&hi, &mut scratch) as f64 - f(&lo, &mut scratch) as f64) / (2.0 * eps as f64);
            let err = (numeric - grad[i] as f64).abs();
            assert!(err <= 1e-3 + 1e-2 * numeric.abs(), "d/dx{i}: analytic {} numeric {numeric}", grad[i]);
        }
    }

    #[test]
    fn mse_value_and_gradient() {
        let t = [1.0f32, -2.0, 0.5];
        let f = |y: &[f32], g: &mut [f32]| <Mse as Loss<[f32; 3]>>::sample_loss(&Mse, y, &t, 0, 0.5, g).unwrap();
        let mut g = [0.0; 3];
        // ((2-1)² + (0+2)² + (0.5-0.5)²) / 3 × 0.5
        assert!((f(&[2.0, 0.0, 0.5], &mut g) - 5.0 / 6.0).abs() < 1e-6);
        check_gradient(&f, &[0.3, -1.2, 2.0]);
    }

    #[test]
    fn cross_entropy_value_gradient_and_stability() {
        let f = |z: &[f32], g: &mut [f32]| {
            <CrossEntropy as Loss<[f32; 4]>>::sample_loss(&CrossEntropy, z, &2, 0, 1.0, g).unwrap()
        };
        let mut g = [0.0; 4];
        // Uniform logits: loss ln 4.
        assert!((f(&[0.0; 4], &mut g) - 4f32.ln()).abs() < 1e-6);
        check_gradient(&f, &[0.5, -1.0, 2.0, 0.1]);
        let big = f(&[1000.0, 0.0, -1000.0, 0.0], &mut g);
        assert!((big - 2000.0).abs() < 1e-3, "{big}");
        assert!(g.iter().all(|v| v.is_finite()));
    }

    #[test]
    fn categorical_cross_entropy_on_probabilities() {
        let f = |p: &[f32], g: &mut [f32]| {
            <CategoricalCrossEntropy as Loss<[f32; 3]>>::sample_loss(&CategoricalCrossEntropy, p, &1, 0, 0.5, g)
                .unwrap()
        };
        let mut g = [0.0; 3];
        assert!((f(&[0.2, 0.5, 0.3], &mut g) - 0.5 * 2f32.ln()).abs() < 1e-6);
        check_gradient(&f, &[0.2, 0.5, 0.3]);
        assert!((f(&[1.0, 0.0, 0.0], &mut g) - 0.5 * 1e7f32.ln()).abs() < 1e-4, "clamped, finite");
        assert_eq!(g, [0.0; 3]);
    }

    #[test]
    fn nll_of_log_probabilities_is_cross_entropy() {
        let z = [0.5f32, -1.0, 2.0, 0.1];
        let mut log_p = [0.0; 4];
        crate::kernels::log_softmax_forward(4, &z, &mut log_p);
        let (mut g_ce, mut g_nll) = ([0.0; 4], [0.0; 4]);
        let ce = <CrossEntropy as Loss<[f32; 4]>>::sample_loss(&CrossEntropy, &z, &2, 0, 0.5, &mut g_ce).unwrap();
        let nll = <Nll as Loss<[f32; 4]>>::sample_loss(&Nll, &log_p, &2, 0, 0.5, &mut g_nll).unwrap();
        assert!((ce - nll).abs() < 1e-6, "{ce} {nll}");
        assert_eq!(g_nll, [0.0, 0.0, -0.5, 0.0]);
        check_gradient(&|y, g| <Nll as Loss<[f32; 4]>>::sample_loss(&Nll, y, &1, 0, 1.0, g).unwrap(), &log_p);
        assert!(<Nll as Loss<[f32; 4]>>::sample_loss(&Nll, &log_p, &4, 3, 1.0, &mut g_nll).is_err());
    }

    #[test]
    fn cross_entropy_rejects_labels_out_of_range() {
        let mut g = [0.0; 3];
        let err = <CrossEntropy as Loss<[f32; 3]>>::sample_loss(&CrossEntropy, &[0.0; 3], &3, 7, 1.0, &mut g);
        assert_eq!(err, Err(Error::LabelOutOfRange { label: 3, index: 7, classes: 3 }));
    }

    #[test]
    fn binary_cross_entropy_on_probabilities_is_pytorchs() {
        let t = [1.0f32, 0.0, 0.3, 0.5];
        let f = |y: &[f32], g: &mut [f32]| {
            <BinaryCrossEntropy as Loss<[f32; 4]>>::sample_loss(&BinaryCrossEntropy, y, &t, 0, 1.0, g).unwrap()
        };
        let y = [0.9f32, 0.2, 0.4, 0.5];
        let want: f64 = y
            .iter()
            .zip(&t)
            .map(|(&y, &t)| -(f64::from(t) * f64::from(y).ln() + (1.0 - f64::from(t)) * (1.0 - f64::from(y)).ln()))
            .sum::<f64>()
            / 4.0;
        let mut g = [0.0; 4];
        assert!((f64::from(f(&y, &mut g)) - want).abs() < 1e-6, "{} against {want}", f(&y, &mut g));
        check_gradient(&f, &y);
        // A confident mistake costs PyTorch's clamp, 100 per value, and its gradient stays finite.
        let t1 = [1.0f32];
        let loss =
            <BinaryCrossEntropy as Loss<[f32; 1]>>::sample_loss(&BinaryCrossEntropy, &[0.0], &t1, 0, 1.0, &mut g[..1]);
        assert_eq!(loss.unwrap(), 100.0);
        assert!(g[0].is_finite() && g[0] < 0.0);
    }

    #[test]
    fn sum_adds_up_every_value_of_every_sample() {
        let (y, t) = ([0.5f32, -1.0, 2.0], [0.0f32, 1.0, 2.0]);
        let mut g = [0.0; 3];
        // Mean over 3 values by default, their sum with `Sum`; the gradient scales alike.
        let mean = <Mse as Loss<[f32; 3]>>::sample_loss(&Mse, &y, &t, 0, 1.0, &mut g).unwrap();
        let mean_grad = g;
        let sum = <Sum<Mse> as Loss<[f32; 3]>>::sample_loss(&Sum(Mse), &y, &t, 0, 1.0, &mut g).unwrap();
        assert_eq!(sum, 0.25 + 4.0);
        assert!((sum - 3.0 * mean).abs() < 1e-6);
        assert!(g.iter().zip(mean_grad).all(|(a, b)| (a - 3.0 * b).abs() < 1e-6));
        assert_eq!(<Sum<Mse> as Loss<[f32; 3]>>::terms(&Sum(Mse), &t), 0, "not averaged over the batch");
        // A sequence: every value of every step.
        let steps = vec![[0.0f32, 1.0], [2.0, 3.0], [4.0, 5.0]];
        let out = [1.0f32, 1.0, 2.0, 2.0, 4.0, 4.0];
        let mut g = [0.0; 6];
        let sum = <Sum<Mse> as Loss<Vec<[f32; 2]>>>::sample_loss(&Sum(Mse), &out, &steps, 0, 1.0, &mut g).unwrap();
        assert_eq!(sum, 1.0 + 0.0 + 0.0 + 1.0 + 0.0 + 1.0);
        // A classifier loss is one value per row: summed over samples, not multiplied by the classes.
        let mut g = [0.0; 3];
        let ce = <CrossEntropy as Loss<[f32; 3]>>::sample_loss(&CrossEntropy, &y, &2, 0, 1.0, &mut g).unwrap();
        let summed = <Sum<CrossEntropy> as Loss<[f32; 3]>>::sample_loss(&Sum(CrossEntropy), &y, &2, 0, 1.0, &mut g);
        assert_eq!(summed.unwrap(), ce);
    }

    #[test]
    fn binary_cross_entropy_value_gradient_and_stability() {
        let t = [1.0f32, 0.0, 0.3];
        let f = |z: &[f32], g: &mut [f32]| {
            <BinaryCrossEntropyWithLogits as Loss<[f32; 3]>>::sample_loss(
                &BinaryCrossEntropyWithLogits,
                z,
                &t,
                0,
                1.0,
                g,
            )
            .unwrap()
        };
        let mut g = [0.0; 3];
        let expected = (-(0.5f64.ln()) * 3.0 / 3.0) as f32; // z = 0 gives ln 2 per element
        assert!((f(&[0.0; 3], &mut g) - expected).abs() < 1e-6);
        check_gradient(&f, &[0.7, -0.4, 1.5]);
        assert!(f(&[100.0, -100.0, 50.0], &mut g).is_finite());
    }
}
