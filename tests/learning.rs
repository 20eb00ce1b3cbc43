//! Small networks learn: XOR to 100 %, and two interleaved moons to at least 95 % on held-out points.

use nn::prelude::*;
use nn::Rng;

network! {
    struct XorNet {
        Input<2> -> Linear<2, 8> -> Tanh -> Linear<8, 2>
    }
}

#[test]
fn xor_is_learned_exactly() {
    let xs = [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]];
    let ys = [0, 1, 1, 0];
    let mut net = XorNet::new(7);
    let mut adam = Adam::new(AdamConfig { lr: 0.05, ..Default::default() });
    let first = net.train_step(&xs, &ys, &CrossEntropy, &mut adam);
    let mut last = first;
    for _ in 0..500 {
        last = net.train_step(&xs, &ys, &CrossEntropy, &mut adam);
    }
    assert_eq!(net.accuracy(&xs, &ys), 1.0);
    assert!(last < 0.05 * first, "loss went from {first} to {last}");
}

network! {
    struct MoonNet {
        Input<2> -> Linear<2, 32> -> ReLU -> Linear<32, 32> -> ReLU -> Linear<32, 2>
    }
}

#[test]
fn two_moons_reach_95_percent_on_held_out_points() {
    let train = nn::data::two_moons(600, 0.15, 1);
    let test = nn::data::two_moons(300, 0.15, 2);
    let (train_x, train_y) = (train.inputs, train.targets);
    let mut net = MoonNet::new(3);
    let mut opt = Adam::new(AdamConfig { lr: 0.01, ..Default::default() });
    let mut order: Vec<usize> = (0..train_x.len()).collect();
    let mut rng = Rng::new(4, 0);
    for _epoch in 0..60 {
        rng.shuffle(&mut order);
        for batch in order.chunks(32) {
            let xs: Vec<[f32; 2]> = batch.iter().map(|&i| train_x[i]).collect();
            let ys: Vec<usize> = batch.iter().map(|&i| train_y[i]).collect();
            net.train_step(&xs, &ys, &CrossEntropy, &mut opt);
        }
    }
    let accuracy = net.accuracy(&test.inputs, &test.targets);
    assert!(accuracy >= 0.95, "test accuracy {accuracy}");
}
