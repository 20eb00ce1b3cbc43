//! Training one network through another that stays fixed: a GAN's generator step runs the discriminator forward
//! and backward to its input with `loss_and_input_grad`, which holds the discriminator fixed — parameters,
//! parameter gradient, batch-norm running statistics and its optimizer's state unchanged, bit for bit — while the
//! generator's gradient through it matches finite differences.

mod common;

use common::{derivative_ok, random_samples, EPS};
use nn::prelude::*;
use nn::Rng;

type Image = [[[f32; 8]; 8]; 1];

network! {
    /// A DCGAN-style generator: noise → Linear → BatchNorm → ReLU → Unflatten → ConvTranspose2d → Tanh.
    pub struct Generator {
        Input<8>
        -> fc: Linear<8, 32> -> bn: BatchNorm -> ReLU -> Unflatten<2, 4, 4>
        -> deconv: ConvTranspose2d<2, 1, 4, stride = 2, padding = 1> -> Tanh
    }

    /// A DCGAN-style discriminator: strided convolution, LeakyReLU, batch norm, one logit.
    pub struct Discriminator {
        Input<1, 8, 8>
        -> conv: Conv2d<1, 4, 3, stride = 2, padding = 1> -> LeakyReLU<0.2> -> bn: BatchNorm
        -> Flatten -> fc: Linear<64, 1>
    }
}

/// A discriminator after one training step on real and fake images, with its optimizer: running statistics,
/// gradient and Adam state are all non-trivial.
fn trained_discriminator(seed: u64) -> (Discriminator, Adam) {
    let mut d = Discriminator::new(seed);
    let mut adam = Adam::new(AdamConfig { lr: 2e-4, beta1: 0.5, ..Default::default() });
    let images = random_samples::<Image>(48, -1.0, 1.0, seed + 1);
    let labels: Vec<[f32; 1]> = (0..48).map(|i| [(i % 2) as f32]).collect();
    d.train_step(&images, &labels, &BinaryCrossEntropyWithLogits, &mut adam);
    (d, adam)
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn the_generator_step_leaves_the_discriminator_as_it_was() {
    let mut g = Generator::new(1);
    let (mut d, adam) = trained_discriminator(2);
    // 40 samples: two chunks, so batch norm's statistics span chunks (a staged pass).
    let z = random_samples::<[f32; 8]>(40, -1.0, 1.0, 3);
    let fake = g.predict(&z);
    let real = vec![[1.0f32]; fake.len()];
    let before = (bits(d.params()), bits(d.buffers()), bits(d.grads()), adam.state());
    let mut d_fake = vec![[[[0.0; 8]; 8]; 1]; fake.len()];
    let loss = d.loss_and_input_grad(&fake, &real, &BinaryCrossEntropyWithLogits, &mut d_fake).unwrap();
    assert!(loss.is_finite());
    assert_eq!(bits(d.params()), before.0, "parameters");
    assert_eq!(bits(d.buffers()), before.1, "batch-norm running statistics");
    assert_eq!(bits(d.grads()), before.2, "parameter gradient");
    assert_eq!(adam.state(), before.3, "optimizer state");

    // The same input gradient as a pass that also computes (and keeps) the discriminator's own gradient.
    let (mut twin, _) = trained_discriminator(2);
    let mut d_fake_twin = d_fake.clone();
    let twin_loss = twin.loss_and_grads(&fake, &real, &BinaryCrossEntropyWithLogits, &mut d_fake_twin).unwrap();
    assert_eq!(twin_loss.to_bits(), loss.to_bits());
    assert_eq!(bits(d_fake.as_flattened().as_flattened().as_flattened()), {
        bits(d_fake_twin.as_flattened().as_flattened().as_flattened())
    });
    assert_ne!(bits(twin.buffers()), before.1, "a training pass does update the running statistics");

    // The generator's update from it: its own gradient, then its optimizer.
    let mut g_adam = Adam::new(AdamConfig { lr: 2e-4, beta1: 0.5, ..Default::default() });
    let g_before = g.params().to_vec();
    g.backward(&z, &d_fake, None).unwrap();
    let parts = g.parts_mut();
    g_adam.step(parts.params, parts.grads);
    assert_ne!(g.params(), g_before.as_slice());
    assert_eq!(bits(d.params()), before.0);
}

#[test]
fn the_generator_gradient_through_a_fixed_discriminator_matches_finite_differences() {
    let mut g = Generator::new(4);
    let (mut d, _) = trained_discriminator(5);
    let z = random_samples::<[f32; 8]>(36, -1.0, 1.0, 6);
    let real = vec![[1.0f32]; z.len()];
    // The generator's objective: the discriminator's loss on its images, labelled real.
    let objective = |g: &mut Generator, d: &mut Discriminator| -> f64 {
        let fake = g.predict(&z);
        let mut unused = vec![[[[0.0; 8]; 8]; 1]; fake.len()];
        f64::from(d.loss_and_input_grad(&fake, &real, &BinaryCrossEntropyWithLogits, &mut unused).unwrap())
    };
    let fake = g.predict(&z);
    let mut d_fake = vec![[[[0.0; 8]; 8]; 1]; fake.len()];
    d.loss_and_input_grad(&fake, &real, &BinaryCrossEntropyWithLogits, &mut d_fake).unwrap();
    let grads = g.backward(&z, &d_fake, None).unwrap().to_vec();
    let mid = objective(&mut g, &mut d);
    let mut rng = Rng::new(9, 9);
    for t in Generator::TENSORS {
        for _ in 0..4 {
            let at = t.offset + rng.below(t.len());
            let original = g.params()[at];
            g.params_mut()[at] = original + EPS;
            let hi = objective(&mut g, &mut d);
            g.params_mut()[at] = original - EPS;
            let lo = objective(&mut g, &mut d);
            g.params_mut()[at] = original;
            let numeric = (hi - lo) / (2.0 * f64::from(EPS));
            assert!(
                derivative_ok(grads[at], lo, mid, hi),
                "{} at {at}: analytic {}, numeric {numeric}",
                t.name,
                grads[at]
            );
        }
    }
}
