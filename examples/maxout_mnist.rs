//! Two more kinds of unit on MNIST: a maxout network (Goodfellow et al. 2013: two layers of 240 units of 5
//! pieces, with dropout) beside the same-sized MLP with PReLU activations, both trained with Adam.
//!
//! `cargo run --release --example maxout_mnist -- [--data DIR] [--epochs N] [--out DIR]`

mod common;

use nn::prelude::*;

network! {
    /// Maxout: every hidden unit is the largest of 5 affine functions of its input.
    pub struct MaxoutNet {
        Input<784>
        -> Dropout<0.2>
        -> mo1: Maxout<784, 240, 5> -> Dropout<0.5>
        -> mo2: Maxout<240, 240, 5> -> Dropout<0.5>
        -> out: Linear<240, 10>
    }
}

network! {
    /// The same widths with learned leaky slopes, one per unit.
    pub struct PReluNet {
        Input<784>
        -> fc1: Linear<784, 240> -> act1: PReLU<240>
        -> fc2: Linear<240, 240> -> act2: PReLU<240>
        -> out: Linear<240, 10>
    }
}

type Data = Dataset<[f32; 784], usize>;

/// Trains `net` and returns its test accuracy.
fn run<N: Network<Input = [f32; 784], Output = [f32; 10]>>(
    name: &str,
    net: &mut N,
    data: (&Data, &Data),
    epochs: usize,
) -> f32 {
    println!("-- {name}");
    let threads = std::thread::available_parallelism().map_or(1, usize::from);
    net.set_parallelism(Parallelism::Threads(threads)).unwrap_or_else(|e| common::fail(e));
    let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
    let config = TrainConfig { epochs, batch_size: 64, shuffle: Some(1), ..Default::default() };
    fit(net, &mut adam, &CrossEntropy, data.0, Some(data.1), &config).unwrap_or_else(|e| common::fail(e));
    evaluate(net, data.1, &CrossEntropy).unwrap_or_else(|e| common::fail(e)).accuracy
}

fn main() {
    let args = common::parse("maxout_mnist", "data/mnist-sample", 5);
    let (train, test) = load_mnist::<[f32; 784]>(&args.data).unwrap_or_else(|e| common::fail(e));
    let data = (&train, &test);
    let mut prelu = PReluNet::new(1);
    let prelu_accuracy = run("PReLU MLP", &mut prelu, data, args.epochs);
    let slopes = prelu.act1.weight(&prelu.params);
    let mean_slope = slopes.iter().sum::<f32>() / slopes.len() as f32;
    println!("learned PReLU slopes of the first layer: mean {mean_slope:.3} (started at 0.25)");
    let mut maxout = MaxoutNet::new(1);
    let maxout_accuracy = run("maxout + dropout", &mut maxout, data, args.epochs);
    save_weights(&maxout, args.out.join("maxout.safetensors")).unwrap_or_else(|e| common::fail(e));

    println!("\n| network | test accuracy |\n|---|---:|");
    println!("| PReLU MLP 784-240-240-10 | {prelu_accuracy:.4} |");
    println!("| maxout 784-240×5-240×5-10 + dropout | {maxout_accuracy:.4} |");
    println!("test accuracy: {maxout_accuracy:.4}");
}
