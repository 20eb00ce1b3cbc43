use nn::prelude::*;

network! {
    struct Net {
        Input<1, 28, 28> -> MeanOverTime -> Flatten -> fc: Linear<784, 10>
    }
}

fn main() {}
