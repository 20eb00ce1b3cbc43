use nn::prelude::*;

network! {
    struct Net {
        Input<256> -> fc1: Linear<256, 120, bias = "yes"> -> ReLU -> fc2: Linear<120, 10>
    }
}

fn main() {
    let mut net = Net::new(0);
    let w = net.fc1.weight(&net.params);
    println!("{}", w.len());
    let y: [f32; 10] = net.forward(&[0.0; 256]);
    println!("{y:?}");
}
