//! A crate that depends on `nn-dsl` under another name, `engine`, declares a network through it, and re-exports it
//! for the `consumer` crate beside it.

pub use engine as reexported;

engine::network! {
    /// Declared through the renamed dependency: the generated code must name `::engine`.
    pub struct Renamed {
        Input<4> -> fc1: Linear<4, 8> -> ReLU -> fc2: Linear<8, 3>
    }
}

#[cfg(test)]
mod tests {
    use super::Renamed;
    use engine::prelude::*;

    #[test]
    fn a_network_declared_through_a_renamed_dependency_trains() {
        let mut net = Renamed::new(1);
        let xs = [[0.5, -1.0, 0.25, 2.0], [1.0, 0.0, -0.5, 0.1]];
        let mut sgd = Sgd::new(SgdConfig { lr: 0.1, ..SgdConfig::default() });
        let first = net.train_step(&xs, &[0, 2], &CrossEntropy, &mut sgd);
        let later = (0..20).map(|_| net.train_step(&xs, &[0, 2], &CrossEntropy, &mut sgd)).last().unwrap();
        assert!(later < first, "the loss fell from {first} to {later}");
        assert_eq!(Renamed::TENSORS[0].name, "fc1.weight");
    }
}
