use nn::prelude::*;

network! {
    struct Net {
        Input<1, 28, 28>
        -> mix: Concat {
               a: Conv2d<1, 8, 3, padding = 1> -> ReLU
             | b: Conv2d<1, 8, 5> -> ReLU
           }
        -> Flatten -> fc: Linear<12544, 10>
    }
}

fn main() {
    let _ = Net::new(0);
}
