use nn::prelude::*;

network! {
    /// The positions' sequence reaches the output.
    struct Unreduced {
        Input<1, 8, 8> -> patch: Conv2d<1, 4, 4, stride = 4> -> ToSeq -> fc: Linear<4, 2>
    }

    /// A sequence input cannot have a second time axis.
    struct TwoAxes {
        Input<Seq, 64> -> MeanOverTime -> Unflatten<1, 8, 8> -> ToSeq -> MeanOverTime -> fc: Linear<1, 2>
    }
}

fn main() {
    let _ = (Unreduced::new(0), TwoAxes::new(0));
}
