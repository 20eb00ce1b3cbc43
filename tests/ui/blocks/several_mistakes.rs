use nn::prelude::*;

network! {
    struct Net {
        Input<1, 28, 28>
        -> stem: Conv2d<1, 16, 3, padding = 1>
        -> layer1: Repeat<2> { Residual { conv: Conv2d<16, 16, 3, padding = 1> -> bn: BatchNorm<8> } -> ReLU }
        -> layer2: Residual { conv: Conv2d<16, 32, 3, stride = 2, padding = 1> } shortcut { conv: Conv2d<16, 32, 1> }
        -> GlobalAvgPool -> fc: Linear<64, 10>
    }
}

fn main() {
    // The fields keep their types and nesting: no error beyond the declaration's own.
    let mut net = Net::new(0);
    let _: &[[[[f32; 3]; 3]; 16]; 16] = net.layer1[1].conv.weight(&net.params);
    let _ = net.layer2.shortcut.conv;
    let y: [f32; 10] = net.forward(&[[[0.0; 28]; 28]; 1]);
    let _ = y;
}
