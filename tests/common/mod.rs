//! Helpers shared by the integration tests.
#![allow(dead_code)]

use nn::prelude::*;
use nn::{Example, Rng};

network! {
    /// LeNet-5 for 28×28 digits, as in the README; shared by the test binaries.
    #[derive(Clone)]
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten
        -> fc1: Linear<256, 120> -> ReLU
        -> fc2: Linear<120, 84> -> ReLU
        -> fc3: Linear<84, 10>
    }
}

network! {
    /// An MLP with more parameters (125,610) than one 65,536-parameter piece of the runtime's parallel gradient
    /// sum, so that threads share the sum out.
    pub struct Wide {
        Input<784> -> Linear<784, 150> -> ReLU -> Linear<150, 50> -> Tanh -> Linear<50, 10>
    }
}

/// One LeNet-5 input.
pub type Image = [[[f32; 28]; 28]; 1];

/// `n` samples of `T` with values uniform in `[lo, hi)`.
pub fn random_samples<T: Sample>(n: usize, lo: f32, hi: f32, seed: u64) -> Vec<T> {
    let mut rng = Rng::new(seed, 99);
    let mut xs = vec![T::zeroed(); n];
    T::flat_mut(&mut xs).iter_mut().for_each(|v| *v = rng.uniform(lo, hi));
    xs
}

/// Sequences of `F` features with the given lengths, values uniform in ±1.
pub fn sequences<const F: usize>(lengths: &[usize], seed: u64) -> Vec<Vec<[f32; F]>> {
    let mut rng = Rng::new(seed, 3);
    lengths.iter().map(|&len| (0..len).map(|_| std::array::from_fn(|_| rng.uniform(-1.0, 1.0))).collect()).collect()
}

/// Step of the central differences below.
pub const EPS: f32 = 1e-3;

/// Whether an analytic derivative agrees with a numeric one: `|a − n| ≤ 2e-3 + 3e-2·|n|`.
///
/// The absolute term covers f32 rounding in the difference quotient (about `1e-7·|loss| / EPS`), the relative
/// term the `O(EPS²)` truncation error.
pub fn agrees(analytic: f32, numeric: f64) -> bool {
    (f64::from(analytic) - numeric).abs() <= 2e-3 + 3e-2 * numeric.abs()
}

/// Compares an analytic derivative with differences of `f` at `x − EPS`, `x`, `x + EPS`.
///
/// The central difference must agree — unless the step crosses a kink (a ReLU or max-pool switching), which
/// shows as the two one-sided differences disagreeing. The kink then lies on one side only, and the analytic
/// derivative must agree with the difference on the other, smooth side.
pub fn derivative_ok(analytic: f32, lo: f64, mid: f64, hi: f64) -> bool {
    let eps = f64::from(EPS);
    let (left, right) = ((mid - lo) / eps, (hi - mid) / eps);
    if agrees(analytic, (hi - lo) / (2.0 * eps)) {
        return true;
    }
    let kink = (left - right).abs() > 2e-3 + 5e-2 * left.abs().max(right.abs());
    kink && (agrees(analytic, left) || agrees(analytic, right))
}

/// Checks the gradient of the mean loss with respect to up to `per_tensor` parameters of every tensor (always
/// the first and last, the rest at random) against central differences. Returns how many were checked.
pub fn check_param_gradients<N: Network, L: Loss<N::Output>>(
    net: &mut N,
    xs: &[N::Input],
    targets: &[L::Target],
    loss: &L,
    per_tensor: usize,
) -> usize {
    // Every evaluation replays the same dropout masks: they depend on the pass counter, reset before each.
    let (seed, step) = net.random_state();
    let mid = f64::from(net.loss_and_grad(xs, targets, loss).expect("valid batch"));
    let grads = net.grads().to_vec();
    let mut rng = Rng::new(7, 7);
    let mut checked = 0;
    for t in N::TENSORS {
        let len = t.len();
        let picks: Vec<usize> = if per_tensor >= len {
            (0..len).collect()
        } else {
            [0, len - 1].into_iter().chain((2..per_tensor).map(|_| rng.below(len))).collect()
        };
        for i in picks {
            let at = t.offset + i;
            let original = net.params()[at];
            net.params_mut()[at] = original + EPS;
            net.set_random_state(seed, step);
            let hi = net.evaluate_loss(xs, targets, loss).unwrap();
            net.params_mut()[at] = original - EPS;
            net.set_random_state(seed, step);
            let lo = net.evaluate_loss(xs, targets, loss).unwrap();
            net.params_mut()[at] = original;
            let (lo, hi) = (f64::from(lo), f64::from(hi));
            assert!(
                derivative_ok(grads[at], lo, mid, hi),
                "{}[{i}]: analytic {}, numeric {} (one-sided {} / {})",
                t.name,
                grads[at],
                (hi - lo) / (2.0 * f64::from(EPS)),
                (mid - lo) / f64::from(EPS),
                (hi - mid) / f64::from(EPS)
            );
            checked += 1;
        }
    }
    checked
}

/// Checks `backward`'s input gradient of `f(x) = Σ ⟨r, net(x)⟩` against central differences at up to `count`
/// input coordinates of every sample (any sample type: arrays, or sequences of any length).
pub fn check_input_gradients<N: Network>(net: &mut N, xs: &[N::Input], count: usize) {
    let mut rng = Rng::new(5, 99);
    // Output gradients shaped like the outputs (a sequence's as long as it).
    let mut r = net.predict(xs);
    r.iter_mut().for_each(|y| y.values_mut().iter_mut().for_each(|v| *v = rng.uniform(-1.0, 1.0)));
    let mut dx = xs.to_vec();
    let (seed, step) = net.random_state();
    net.backward(xs, &r, Some(&mut dx)).unwrap();
    let f = |net: &mut N, xs: &[N::Input]| -> f64 {
        net.set_random_state(seed, step);
        let ys = net.predict(xs);
        ys.iter()
            .zip(&r)
            .flat_map(|(y, r)| y.values().iter().zip(r.values()))
            .map(|(a, b)| f64::from(*a) * f64::from(*b))
            .sum()
    };
    let mut rng = Rng::new(11, 0);
    let mut probe = xs.to_vec();
    let mid = f(net, xs);
    for s in 0..xs.len() {
        for _ in 0..count {
            let i = rng.below(xs[s].values().len());
            let original = xs[s].values()[i];
            probe[s].values_mut()[i] = original + EPS;
            let hi = f(net, &probe);
            probe[s].values_mut()[i] = original - EPS;
            let lo = f(net, &probe);
            probe[s].values_mut()[i] = original;
            let analytic = dx[s].values()[i];
            let numeric = (hi - lo) / (2.0 * f64::from(EPS));
            assert!(derivative_ok(analytic, lo, mid, hi), "input {s}[{i}]: analytic {analytic}, numeric {numeric}");
        }
    }
}

/// A safetensors file assembled byte by byte as `safetensors.torch.save_file(model.state_dict())` writes it: an
/// 8-byte little-endian header length, a JSON header, then the raw little-endian data.
pub fn handmade(entries: &[(&str, &str, &[usize], Vec<u8>)]) -> Vec<u8> {
    let mut offset = 0;
    let mut header = Vec::new();
    for (name, dtype, shape, data) in entries {
        let shape: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
        header.push(format!(
            "\"{name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{}],\"data_offsets\":[{offset},{}]}}",
            shape.join(","),
            offset + data.len()
        ));
        offset += data.len();
    }
    let mut json = format!("{{\"__metadata__\":{{\"format\":\"pt\"}},{}}}", header.join(","));
    while json.len() % 8 != 0 {
        json.push(' ');
    }
    let mut bytes = (json.len() as u64).to_le_bytes().to_vec();
    bytes.extend(json.as_bytes());
    for (.., data) in entries {
        bytes.extend(data);
    }
    bytes
}

/// Little-endian bytes of `v`.
pub fn f32s(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}
