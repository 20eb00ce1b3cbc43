use nn::prelude::*;

network! {
    struct Net {
        Input<16, 28, 28>
        -> layer2: Residual {
               conv1: Conv2d<16, 32, 3, stride = 2, padding = 1> -> bn1: BatchNorm -> ReLU
               -> conv2: Conv2d<32, 32, 3, padding = 1> -> bn2: BatchNorm
           }
        -> GlobalAvgPool -> fc: Linear<32, 10>
    }
}

fn main() {
    let _ = Net::new(0);
}
