use nn::prelude::*;

network! {
    struct Tagger {
        Input<Seq, 10> -> gru: GRU<10, 16> -> out: Linear<16, 5>
    }
}

fn main() {
    let mut net = Tagger::new(0);
    let xs = vec![vec![[0.0f32; 10]; 3]];
    // One label per sample, but the output is a sequence: it needs one per step (`Vec<usize>`).
    let labels: Vec<usize> = vec![1];
    let _ = net.loss_and_grad(&xs, &labels, &CrossEntropy);
}
