use nn::prelude::*;

network! {
    struct Steps {
        Input<Seq, 0> -> lstm: LSTM<10, 20> -> Last -> fc: Linear<20, 5>
    }

    struct Hidden {
        Input<Seq, 10> -> lstm: LSTM<10, 0> -> Last -> fc: Linear<20, 5>
    }
}

fn main() {
    let mut a = Steps::new(0);
    let y: [f32; 5] = a.forward(&vec![[0.0; 10]; 3]);
    let mut b = Hidden::new(0);
    let z: [f32; 5] = b.forward(&vec![[0.0; 10]; 3]);
    let w = b.fc.weight(&b.params);
    println!("{y:?} {z:?} {}", w.len());
}
