use nn::prelude::*;

network! {
    struct Net {
        Input<1, 1, 28, 28> -> Flatten -> Linear<784, 10>
    }
}

fn main() {
    let mut net = Net::new(0);
    let logits: [f32; 10] = net.forward(&[[[0.0; 28]; 28]; 1]);
    println!("{logits:?}");
}
