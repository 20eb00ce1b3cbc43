use nn::prelude::*;

network! {
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten -> fc1: Linear<400, 120> -> ReLU -> fc2: Linear<120, 84> -> ReLU -> fc3: Linear<84, 10>
    }
}

fn main() {
    // Only the declaration's error is reported: every field, `params` and `buffers` exist.
    let mut net = LeNet5::new(0);
    let kernels: &[[[[f32; 5]; 5]; 1]; 6] = net.conv1.weight(&net.params);
    let fc1: &[[f32; 256]; 120] = net.fc1.weight(&net.params);
    let buffers: &[f32] = &net.buffers;
    println!("{} {} {}", kernels.len(), fc1.len(), buffers.len());
    let logits: [f32; 10] = net.forward(&[[[0.0; 28]; 28]; 1]);
    println!("{logits:?}");
}
