use nn::prelude::*;

network! {
    struct Mlp {
        Input<784> -> Linear<784, 128> -> ReLU -> Linear<100, 10>
    }
}

fn main() {
    let _ = Mlp::new(0);
}
