use nn::prelude::*;

network! {
    struct Net {
        Input<784> -> Linear<784, 512> -> ReLU -> Dropout<1.0> -> Linear<512, 10>
    }
}

fn main() {
    let _ = Net::new(0);
}
