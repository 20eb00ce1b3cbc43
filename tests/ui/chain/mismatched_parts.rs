use nn::prelude::*;

network! {
    pub struct Encoder { Input<784> -> fc: Linear<784, 16> }
    pub struct Decoder { Input<32> -> fc: Linear<32, 784> -> Sigmoid }
}

type Autoencoder = nn::Chain<Encoder, Decoder>;

fn main() {
    let _ = Autoencoder::new(0);
}
