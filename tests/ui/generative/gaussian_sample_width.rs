use nn::prelude::*;

network! {
    // 20 values where GaussianSample<16> reads 2·16 = 32.
    pub struct WrongWidth {
        Input<784> -> enc: Linear<784, 20> -> z: GaussianSample<16> -> dec: Linear<16, 784>
    }
}

network! {
    // An odd width.
    pub struct Odd {
        Input<7> -> z: GaussianSample<4>
    }
}

network! {
    pub struct FromImage {
        Input<1, 4, 4> -> z: GaussianSample<8>
    }
}

network! {
    pub struct NegativeBeta {
        Input<8> -> z: GaussianSample<4, beta = -1.0>
    }
}

fn main() {}
