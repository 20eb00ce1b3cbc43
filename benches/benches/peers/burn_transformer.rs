//! burn's transformers for `benches/transformers.rs`: its `TransformerEncoder` (pre-norm, GELU, no dropout) with
//! `Embedding`s of tokens and positions, `generate_autoregressive_mask` for causal attention, and its
//! autoregressive cache (`forward_autoregressive_inference`) for generation, on the Flex backend.

use super::burn_impl::{bench_train, labels};
use super::Group;
use burn::module::Module;
use burn::nn::attention::generate_autoregressive_mask;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::transformer::{
    TransformerEncoder, TransformerEncoderAutoregressiveCache, TransformerEncoderConfig, TransformerEncoderInput,
};
use burn::nn::{Embedding, EmbeddingConfig, LayerNorm, LayerNormConfig, Linear, LinearConfig};
use burn::optim::{GradientsParams, SgdConfig};
use burn::tensor::{Device, Int, Tensor, TensorData};
use criterion::BatchSize;
use std::hint::black_box;

#[derive(Module, Debug)]
struct Gpt {
    tok: Embedding,
    pos: Embedding,
    encoder: TransformerEncoder,
    ln_f: LayerNorm,
    head: Linear,
}

fn encoder(d_model: usize, d_ff: usize, layers: usize) -> TransformerEncoderConfig {
    TransformerEncoderConfig::new(d_model, d_ff, 4, layers).with_norm_first(true).with_dropout(0.0)
}

impl Gpt {
    fn new(positions: usize, device: &Device) -> Self {
        Self {
            tok: EmbeddingConfig::new(96, 128).init(device),
            pos: EmbeddingConfig::new(positions, 128).init(device),
            encoder: encoder(128, 512, 2).init(device),
            ln_f: LayerNormConfig::new(128).init(device),
            head: LinearConfig::new(128, 96).init(device),
        }
    }

    /// Token and position embeddings of `ids` `[b, t]`.
    fn embed(&self, ids: Tensor<2, Int>) -> Tensor<3> {
        let [b, t] = ids.dims();
        let positions = Tensor::<1, Int>::arange(0..t as i64, &ids.device()).reshape([1, t]).repeat_dim(0, b);
        self.tok.forward(ids) + self.pos.forward(positions)
    }

    fn input(&self, ids: Tensor<2, Int>) -> TransformerEncoderInput {
        let [b, t] = ids.dims();
        let mask = generate_autoregressive_mask(b, t, &ids.device());
        TransformerEncoderInput::new(self.embed(ids)).mask_attn(mask)
    }

    /// Logits `[b·t, 96]`.
    fn forward(&self, ids: Tensor<2, Int>) -> Tensor<2> {
        let [b, t] = ids.dims();
        let h = self.encoder.forward(self.input(ids));
        self.head.forward(self.ln_f.forward(h)).reshape([b * t, 96])
    }

    /// The logits of the last step of `ids`, the cache holding the steps before it.
    fn step(&self, ids: Tensor<2, Int>, cache: &mut TransformerEncoderAutoregressiveCache) -> Tensor<3> {
        let [b, t] = ids.dims();
        let h = self.encoder.forward_autoregressive_inference(self.input(ids), cache);
        self.head.forward(self.ln_f.forward(h.slice([0..b, t - 1..t])))
    }
}

#[derive(Module, Debug)]
struct Vit {
    patch: Conv2d,
    pos: Embedding,
    encoder: TransformerEncoder,
    ln: LayerNorm,
    head: Linear,
}

impl Vit {
    fn new(device: &Device) -> Self {
        Self {
            patch: Conv2dConfig::new([1, 64], [7, 7]).with_stride([7, 7]).init(device),
            pos: EmbeddingConfig::new(16, 64).init(device),
            encoder: encoder(64, 128, 4).init(device),
            ln: LayerNormConfig::new(64).init(device),
            head: LinearConfig::new(64, 10).init(device),
        }
    }

    fn forward(&self, x: Tensor<4>) -> Tensor<2> {
        let b = x.dims()[0];
        let patches: Tensor<3> = self.patch.forward(x).flatten(2, 3).swap_dims(1, 2);
        let positions = Tensor::<1, Int>::arange(0..16, &patches.device()).reshape([1, 16]).repeat_dim(0, b);
        let h = self.encoder.forward(TransformerEncoderInput::new(patches + self.pos.forward(positions)));
        let pooled: Tensor<3> = self.ln.forward(h).mean_dim(1);
        self.head.forward(pooled.reshape([b, 64]))
    }
}

fn ids(windows: &[[u32; 64]], device: &Device) -> Tensor<2, Int> {
    let flat: Vec<i64> = windows.iter().flatten().map(|&id| i64::from(id)).collect();
    Tensor::from_data(TensorData::new(flat, [windows.len(), 64]), device)
}

pub fn gpt_train(g: &mut Group<'_>, xs: &[[u32; 64]], ys: &[[usize; 64]], lr: f32) {
    let device = Device::flex().autodiff();
    let targets: Vec<usize> = ys.iter().flatten().copied().collect();
    bench_train!(g, device, Gpt::new(64, &device), ids(xs, &device), &targets, lr);
}

pub fn gpt_infer(g: &mut Group<'_>, xs: &[[u32; 64]]) {
    let device = Device::flex();
    let model = Gpt::new(64, &device);
    let x = ids(xs, &device);
    g.bench_function("burn", |b| b.iter(|| black_box(model.forward(x.clone()).into_data())));
}

pub fn gpt_generate(g: &mut Group<'_>, prefix: &[u32; 64]) {
    let device = Device::flex();
    let model = Gpt::new(128, &device);
    let mut ids65: Vec<i64> = prefix.iter().map(|&id| i64::from(id)).collect();
    ids65.push(17);
    let (all, first) = (
        Tensor::<2, Int>::from_data(TensorData::new(ids65.clone(), [1, 65]), &device),
        Tensor::<2, Int>::from_data(TensorData::new(ids65[..64].to_vec(), [1, 64]), &device),
    );
    // Each iteration starts from a cache filled with the 64 steps before (made outside the timing): burn's
    // autoregressive step reads the whole prefix and computes its last step.
    let filled = || {
        let mut cache = model.encoder.new_autoregressive_cache();
        model.step(first.clone(), &mut cache);
        cache
    };
    g.bench_function("burn", |b| {
        b.iter_batched(
            filled,
            |mut cache| black_box(model.step(all.clone(), &mut cache).into_data()),
            BatchSize::PerIteration,
        )
    });
}

pub fn vit_train(g: &mut Group<'_>, x: &[f32], y: &[usize], lr: f32) {
    let device = Device::flex().autodiff();
    let x: Tensor<4> = Tensor::from_data(TensorData::new(x.to_vec(), [y.len(), 1, 28, 28]), &device);
    bench_train!(g, device, Vit::new(&device), x, y, lr);
}
