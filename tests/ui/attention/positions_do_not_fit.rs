use nn::prelude::*;

network! {
    struct TooFewPositions {
        Input<Seq<28>, 64> -> pos: PositionalEmbedding<16, 64> -> MeanOverTime -> fc: Linear<64, 10>
    }

    struct WrongWidth {
        Input<Seq<16>, 32> -> pos: PositionalEmbedding<16, 64> -> MeanOverTime -> fc: Linear<32, 10>
    }

    struct FixedTooShort {
        Input<Seq<28>, 8> -> PositionalEncoding<20> -> Last -> fc: Linear<8, 2>
    }
}

fn main() {
    let _ = (TooFewPositions::new(0), WrongWidth::new(0), FixedTooShort::new(0));
}
