use nn::prelude::*;

network! {
    #[weights("models/lenet5.safetensors")]
    pub struct Mlp { Input<4> -> Linear<4, 2> }
}

fn main() {}
