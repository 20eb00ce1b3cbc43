use nn::prelude::*;

network! {
    struct Net {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5, strid = 2> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<400, 120> -> ReLU -> fc2: Linear<120, 10>
    }
}

fn main() {
    let mut net = Net::new(0);
    let w = net.fc2.weight(&net.params);
    println!("{}", w.len());
    let y: [f32; 10] = net.forward(&[[[0.0; 28]; 28]; 1]);
    println!("{y:?}");
}
