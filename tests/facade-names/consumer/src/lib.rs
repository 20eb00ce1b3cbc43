//! A crate that reaches `nn-dsl` only through `nn_facade_names::reexported` and says so with
//! `#[network(crate = "…")]`.

use nn_facade_names::reexported;

reexported::network! {
    /// Declared through a re-export: the generated code names the path the attribute gives.
    #[network(crate = "nn_facade_names::reexported")]
    pub struct Consumer {
        Input<Seq<5>, 3> -> lstm: LSTM<3, 4> -> Last -> fc: Linear<4, 2>
    }
}

#[cfg(test)]
mod tests {
    use super::Consumer;
    use nn_facade_names::reexported::prelude::*;

    #[test]
    fn a_network_declared_through_a_reexport_runs_and_trains() {
        let mut net = Consumer::new(2);
        let xs = vec![[[0.1f32, 0.2, 0.3]; 5], [[-0.3, 0.0, 0.9]; 5]];
        let out = net.predict(&xs);
        assert!(out.iter().flatten().all(|v| v.is_finite()));
        let mut adam = Adam::new(AdamConfig::default());
        let first = net.train_step(&xs, &[0, 1], &CrossEntropy, &mut adam);
        let later = (0..30).map(|_| net.train_step(&xs, &[0, 1], &CrossEntropy, &mut adam)).last().unwrap();
        assert!(later < first, "the loss fell from {first} to {later}");
    }
}
