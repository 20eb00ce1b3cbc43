use nn::prelude::*;

network! {
    struct Classifier {
        Input<784> -> Linear<784, 10> -> Softmx
    }
}

fn main() {
    let mut net = Classifier::new(0);
    let probabilities: [f32; 10] = net.forward(&[0.0; 784]);
    println!("{probabilities:?}");
}
