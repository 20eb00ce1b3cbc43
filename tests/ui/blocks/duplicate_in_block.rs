use nn::prelude::*;

network! {
    struct Net {
        Input<8>
        -> block: Residual { fc: Linear<8, 8> -> ReLU -> fc: Linear<8, 8> }
        // Names need only be unique within their block: `fc` here is another field.
        -> fc: Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
