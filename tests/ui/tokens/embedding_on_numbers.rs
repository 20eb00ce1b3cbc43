use nn::prelude::*;

network! {
    struct Net {
        Input<Seq, 10> -> emb: Embedding<100, 8> -> out: Linear<8, 2>
    }
}

fn main() {
    let _ = Net::new(0);
}
