//! `Chain<A, B>`: two networks run and trained as one. Its gradient is the composition's (the parts run alone,
//! the second's input gradient fed to the first's backward), bit for bit, through batch norm spanning chunks;
//! it matches finite differences; threads change no bit; names are the parts' under their prefixes; weight files
//! round-trip; and the parts come out usable alone.

mod common;

use common::{check_input_gradients, check_param_gradients, random_samples};
use nn::prelude::*;
use nn::Chain;

network! {
    /// A small convolutional encoder with batch norm (a staged pass when training).
    pub struct Encoder {
        Input<1, 8, 8>
        -> c1: Conv2d<1, 4, 3, stride = 2, padding = 1> -> bn: BatchNorm -> ReLU
        -> Flatten -> code: Linear<64, 6>
    }
    /// Its decoder, with batch norm too.
    pub struct Decoder {
        Input<6>
        -> fc: Linear<6, 32> -> bn: BatchNorm -> ReLU -> Unflatten<2, 4, 4>
        -> d1: ConvTranspose2d<2, 1, 4, stride = 2, padding = 1> -> Sigmoid
    }
    /// A layer on the encoder's code, chained with itself.
    pub struct Mixer { Input<6> -> fc: Linear<6, 6> }
    /// A recurrent part: a sequence in, a sequence out.
    pub struct Reader { Input<Seq, 3> -> lstm: LSTM<3, 5> }
    /// A per-step classifier after it.
    pub struct Tagger { Input<Seq, 5> -> fc: Linear<5, 2> }
    /// A second part with a table of 6 positions.
    pub struct Positioned { Input<Seq, 5> -> pos: PositionalEmbedding<6, 5> -> fc: Linear<5, 2> }
}

type Image = [[[f32; 8]; 8]; 1];
type Autoencoder = Chain<Encoder, Decoder>;

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn names_are_the_parts_under_their_struct_names() {
    let names: Vec<&str> = Autoencoder::TENSORS.iter().map(|t| t.name).collect();
    assert_eq!(
        names,
        [
            "encoder.c1.weight",
            "encoder.c1.bias",
            "encoder.bn.weight",
            "encoder.bn.bias",
            "encoder.code.weight",
            "encoder.code.bias",
            "decoder.fc.weight",
            "decoder.fc.bias",
            "decoder.bn.weight",
            "decoder.bn.bias",
            "decoder.d1.weight",
            "decoder.d1.bias",
        ]
    );
    assert_eq!(Autoencoder::TENSORS[6].offset, Encoder::PARAMS);
    assert_eq!(Autoencoder::PARAMS, Encoder::PARAMS + Decoder::PARAMS);
    let buffers: Vec<&str> = Autoencoder::BUFFER_TENSORS.iter().map(|t| t.name).collect();
    assert_eq!(buffers[0], "encoder.bn.running_mean");
    assert_eq!(buffers[3], "decoder.bn.running_mean");
    assert_eq!(Autoencoder::BUFFER_TENSORS[3].offset, Encoder::BUFFERS);
    let layers: Vec<&str> = Autoencoder::LAYERS.iter().map(|l| l.name).collect();
    assert_eq!(layers[0], "encoder.c1");
    assert_eq!(layers[Encoder::LAYERS.len()], "decoder.fc");
    assert_eq!(Autoencoder::INPUT_SHAPE, [1, 8, 8]);
    assert_eq!(Autoencoder::FORWARD_MACS, Encoder::FORWARD_MACS + Decoder::FORWARD_MACS);
    // Same types, or a chain inside: numbered as torch.nn.Sequential numbers its modules.
    assert_eq!(<Chain<Mixer, Mixer>>::TENSORS[2].name, "1.fc.weight");
    type Nested = Chain<Autoencoder, Encoder>;
    assert_eq!(Nested::TENSORS[0].name, "0.encoder.c1.weight");
    assert_eq!(Nested::TENSORS[12].name, "1.c1.weight");
    assert_eq!(Nested::TENSORS[12].offset, Autoencoder::PARAMS);
    assert_eq!(Nested::BUFFER_TENSORS[6].name, "1.bn.running_mean");
}

#[test]
fn the_gradient_is_the_composition_of_the_parts_gradients_bit_for_bit() {
    // 40 samples: two chunks, so each batch norm reduces over both (the staged schedule).
    let xs = random_samples::<Image>(40, 0.0, 1.0, 1);
    let targets = random_samples::<Image>(40, 0.0, 1.0, 2);
    let mut ae = Autoencoder::new(3);
    let (mut encoder, mut decoder) = ae.clone().into_parts();
    let loss = ae.loss_and_grad(&xs, &targets, &Mse).unwrap();

    // By hand: the encoder forward, the decoder's loss with its input gradient, the encoder's backward from it.
    let codes = encoder.predict(&xs);
    let mut d_codes = vec![[0.0; 6]; xs.len()];
    let by_hand = decoder.loss_and_grads(&codes, &targets, &Mse, &mut d_codes).unwrap();
    encoder.backward(&xs, &d_codes, None).unwrap();
    assert_eq!(loss.to_bits(), by_hand.to_bits());
    assert_eq!(bits(&ae.grads()[..Encoder::PARAMS]), bits(encoder.grads()));
    assert_eq!(bits(&ae.grads()[Encoder::PARAMS..]), bits(decoder.grads()));
    // One update of the running statistics per training pass, in both parts.
    let (e, d) = ae.clone().into_parts();
    assert_eq!(bits(&ae.buffers()[Encoder::BUFFERS..]), bits(decoder.buffers()));
    assert_ne!(bits(e.buffers()), bits(Autoencoder::new(3).first().buffers()));
    assert_eq!(bits(d.buffers()), bits(decoder.buffers()));
}

#[test]
fn the_gradient_matches_finite_differences() {
    let xs = random_samples::<Image>(6, 0.0, 1.0, 4);
    let targets = random_samples::<Image>(6, 0.0, 1.0, 5);
    let mut ae = Autoencoder::new(6);
    ae.eval(); // batch norm on running statistics: a smooth function of the parameters
    assert!(check_param_gradients(&mut ae, &xs, &targets, &BinaryCrossEntropy, 6) > 40);
    check_input_gradients(&mut ae, &xs, 4);
}

#[test]
fn a_recurrent_chain_passes_sequences_of_any_length_through() {
    type Tagging = Chain<Reader, Tagger>;
    let xs = common::sequences::<3>(&[4, 1, 7, 3], 7);
    let mut net = Tagging::new(8);
    let ys = net.predict(&xs);
    assert_eq!(ys.iter().map(Vec::len).collect::<Vec<_>>(), [4, 1, 7, 3]);
    let (mut reader, mut tagger) = net.clone().into_parts();
    assert_eq!(ys, tagger.predict(&reader.predict(&xs)));
    check_input_gradients(&mut net, &xs, 3);
    let labels: Vec<Vec<usize>> = xs.iter().map(|x| (0..x.len()).map(|t| t % 2).collect()).collect();
    assert!(check_param_gradients(&mut net, &xs, &labels, &CrossEntropy, 5) > 20);
}

#[test]
fn threads_change_no_bit() {
    let xs = random_samples::<Image>(100, 0.0, 1.0, 9);
    let run = |parallelism| {
        let mut ae = Autoencoder::new(10);
        ae.set_parallelism(parallelism).unwrap();
        let mut adam = Adam::new(AdamConfig { lr: 1e-3, ..Default::default() });
        for _ in 0..3 {
            ae.train_step(&xs, &xs, &BinaryCrossEntropy, &mut adam);
        }
        (bits(ae.params()), bits(ae.buffers()))
    };
    assert_eq!(run(Parallelism::None), run(Parallelism::Threads(2)));
}

#[test]
fn a_chain_trains_end_to_end_and_its_parts_run_alone() {
    network! {
        pub struct Squeeze { Input<8> -> fc: Linear<8, 3> -> Tanh }
        pub struct Expand { Input<3> -> fc: Linear<3, 8> -> Sigmoid }
    }
    let xs: Vec<[f32; 8]> = (0..64).map(|i| core::array::from_fn(|k| ((i + k) % 3) as f32 / 2.0)).collect();
    let mut ae = Chain::<Squeeze, Expand>::new(0);
    let mut adam = Adam::new(AdamConfig { lr: 0.02, ..Default::default() });
    let first = ae.evaluate_loss(&xs, &xs, &Mse).unwrap();
    for _ in 0..300 {
        ae.train_step(&xs, &xs, &Mse, &mut adam);
    }
    let last = ae.evaluate_loss(&xs, &xs, &Mse).unwrap();
    assert!(last < first / 4.0, "{first} → {last}");
    let (mut squeeze, mut expand) = ae.clone().into_parts();
    let code = squeeze.forward(&xs[5]);
    assert_eq!(expand.forward(&code), ae.forward(&xs[5]));
    // Put back together, the same network.
    let mut again = Chain::from_parts(squeeze, expand);
    assert_eq!(bits(again.params()), bits(ae.params()));
    assert_eq!(again.forward(&xs[1]), ae.forward(&xs[1]));
}

#[test]
fn weight_files_round_trip_under_the_prefixed_names() {
    let dir = std::env::temp_dir().join(format!("nn-chain-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ae.safetensors");
    let mut ae = Autoencoder::new(11);
    ae.train_step(
        &random_samples::<Image>(8, 0.0, 1.0, 12),
        &random_samples(8, 0.0, 1.0, 13),
        &Mse,
        &mut Sgd::new(SgdConfig { lr: 0.1, ..Default::default() }),
    );
    save_weights(&ae, &path).unwrap();
    let mut loaded = Autoencoder::new(99);
    load_weights(&mut loaded, &path).unwrap();
    assert_eq!(bits(loaded.params()), bits(ae.params()));
    assert_eq!(bits(loaded.buffers()), bits(ae.buffers()));
    // A file of the encoder alone is not an autoencoder's: the error names what is missing.
    save_weights(&ae.first(), &path).unwrap();
    let error = load_weights(&mut loaded, &path).unwrap_err().to_string();
    assert!(error.contains("encoder.c1.weight"), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn summary_lists_both_parts() {
    let summary = Autoencoder::summary();
    assert!(summary.contains("encoder.c1") && summary.contains("decoder.d1"), "{summary}");
}

/// A `fit` configuration without output.
fn quiet(epochs: usize, checkpoint: Option<std::path::PathBuf>) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 16,
        verbose: false,
        progress: false,
        resume: checkpoint.is_some(),
        checkpoint,
        ..Default::default()
    }
}

#[test]
fn fit_trains_a_chain_on_its_own_inputs_and_resumes_it_exactly() {
    use nn::data::Reconstruction;
    let train = Reconstruction::new(random_samples::<Image>(64, 0.0, 1.0, 14));
    let valid = Reconstruction::new(random_samples::<Image>(32, 0.0, 1.0, 15));
    let adam = || Adam::new(AdamConfig { lr: 1e-2, ..Default::default() });
    let mut ae = Autoencoder::new(16);
    let before = evaluate(&mut ae, &valid, &BinaryCrossEntropy).unwrap();
    let history = fit(&mut ae, &mut adam(), &BinaryCrossEntropy, &train, Some(&valid), &quiet(4, None)).unwrap();
    let after = evaluate(&mut ae, &valid, &BinaryCrossEntropy).unwrap();
    assert!(after.loss < before.loss, "{} → {}", before.loss, after.loss);
    assert!(after.accuracy.is_nan(), "images name no class");
    assert!(history.epochs.iter().all(|r| r.valid_accuracy.is_none() && r.valid_loss.is_some()));
    assert_eq!(history.epochs.last().unwrap().valid_loss, Some(after.loss));

    // Two epochs, then two more from the checkpoint in a fresh chain: the same bits as four in one go.
    let dir = tempfile::tempdir().unwrap();
    let mut straight = Autoencoder::new(17);
    fit(&mut straight, &mut adam(), &BinaryCrossEntropy, &train, None, &quiet(4, Some(dir.path().join("a")))).unwrap();
    let mut first = Autoencoder::new(17);
    fit(&mut first, &mut adam(), &BinaryCrossEntropy, &train, None, &quiet(2, Some(dir.path().join("b")))).unwrap();
    let mut resumed = Autoencoder::new(99);
    fit(&mut resumed, &mut adam(), &BinaryCrossEntropy, &train, None, &quiet(4, Some(dir.path().join("b")))).unwrap();
    assert_eq!(bits(resumed.params()), bits(straight.params()));
    assert_eq!(bits(resumed.buffers()), bits(straight.buffers()));
}

#[test]
fn early_stopping_on_accuracy_is_refused_for_targets_without_classes() {
    let train = nn::data::Reconstruction::new(random_samples::<Image>(8, 0.0, 1.0, 18));
    let config = TrainConfig {
        early_stopping: Some(EarlyStopping { patience: 1, min_delta: 0.0, monitor: Monitor::ValidAccuracy }),
        ..quiet(1, None)
    };
    let mut ae = Autoencoder::new(19);
    let error = fit(&mut ae, &mut Sgd::new(SgdConfig::default()), &Mse, &train, Some(&train), &config).unwrap_err();
    assert!(error.to_string().contains("name no class"), "{error}");
}

#[test]
fn the_second_parts_limit_on_steps_is_the_chains() {
    let mut net = Chain::<Reader, Positioned>::new(20);
    let long = common::sequences::<3>(&[4, 7], 21);
    let mut ys = vec![Vec::new(); 2];
    let error = net.try_forward_batch(&long, &mut ys).unwrap_err();
    assert!(matches!(error, nn::Error::SequenceTooLong { index: 1, steps: 7, max: 6, .. }), "{error}");
    assert!(error.to_string().contains("PositionalEmbedding<6, 5>"), "{error}");
    net.try_forward_batch(&long[..1], &mut ys[..1]).unwrap();
    assert_eq!(ys[0].len(), 4);
}
