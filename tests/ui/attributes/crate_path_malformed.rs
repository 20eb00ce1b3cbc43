use nn::prelude::*;

network! {
    // Another key than `crate`.
    #[network(krate = "nn")]
    pub struct Tiny {
        Input<4> -> fc: Linear<4, 2>
    }
}

network! {
    // Not a path.
    #[network(crate = "nn + 1")]
    pub struct Other {
        Input<4> -> fc: Linear<4, 2>
    }
}

fn main() {}
