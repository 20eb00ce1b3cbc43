use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, Tokens<100>> -> emb: Embedding<1000, 8, padding_idx = 1000> -> out: Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
