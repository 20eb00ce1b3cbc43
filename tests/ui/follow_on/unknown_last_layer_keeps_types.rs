use nn::prelude::*;

network! {
    struct Net {
        Input<84> -> fc1: Linear<84, 32> -> ReLU -> fc2: Linaer<32, 10>
    }
}

fn main() {
    let mut net = Net::new(0);
    let w = net.fc2.weight(&net.params);
    println!("{}", w.len());
    let y: [f32; 10] = net.forward(&[0.0; 84]);
    println!("{y:?}");
}
