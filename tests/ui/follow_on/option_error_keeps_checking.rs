use nn::prelude::*;

network! {
    struct Net {
        Input<4> -> fc1: Linear<4, 8> -> Dropout<1.5> -> fc2: Linear<9, 2>
    }

    struct Two {
        Input<4> -> Dropout<-0.1> -> Linear<4, 4> -> Dropout<50> -> Linear<4, 2>
    }
}

fn main() {}
