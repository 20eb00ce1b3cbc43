use nn::prelude::*;

network! {
    /// Two independent mistakes, both reported in one compile.
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<3, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<400, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
    }
}

fn main() {
    let mut net = LeNet5::new(0);
    let _: [f32; 10] = net.forward(&[[[0.0; 28]; 28]; 1]);
}
