//! candle's transformers for `benches/transformers.rs`, built from candle-nn's layers and tensor operations as
//! candle-transformers' models are (attention as `matmul`, a mask added, softmax, `matmul`; the key/value cache
//! as `Tensor::cat`). Training uses the differentiable `ops::softmax` and `ops::layer_norm_slow` (candle's fused
//! `softmax_last_dim` and `LayerNorm` have no backward pass); inference uses the fused ones.

use super::Group;
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{conv2d, embedding, layer_norm, linear, loss, ops, Conv2d, Conv2dConfig, Embedding, LayerNorm};
use candle_nn::{Linear, Optimizer, VarBuilder, VarMap, SGD};
use std::hint::black_box;

type Result<T> = candle_core::Result<T>;

/// A pre-norm block: attention over its steps (causal or not), then a GELU MLP, each around a residual.
struct Block {
    ln1: LayerNorm,
    qkv: Linear,
    proj: Linear,
    ln2: LayerNorm,
    fc1: Linear,
    fc2: Linear,
    heads: usize,
    causal: bool,
}

fn norm(ln: &LayerNorm, x: &Tensor, train: bool) -> Result<Tensor> {
    match train {
        true => ops::layer_norm_slow(x, ln.weight(), ln.bias().expect("a bias"), 1e-5),
        false => ln.forward(x),
    }
}

impl Block {
    fn new(e: usize, heads: usize, ff: usize, causal: bool, vb: VarBuilder) -> Result<Self> {
        Ok(Self {
            ln1: layer_norm(e, 1e-5, vb.pp("ln1"))?,
            qkv: linear(e, 3 * e, vb.pp("qkv"))?,
            proj: linear(e, e, vb.pp("proj"))?,
            ln2: layer_norm(e, 1e-5, vb.pp("ln2"))?,
            fc1: linear(e, ff, vb.pp("fc1"))?,
            fc2: linear(ff, e, vb.pp("fc2"))?,
            heads,
            causal,
        })
    }

    /// The block on `x` `[b, t, e]`; with `cache` (the keys and values of the steps before, `[b, heads, p, d]`),
    /// the steps attend to those too.
    fn forward(&self, x: &Tensor, train: bool, cache: Option<&(Tensor, Tensor)>) -> Result<Tensor> {
        let (b, t, e) = x.dims3()?;
        let d = e / self.heads;
        let qkv = self.qkv.forward(&norm(&self.ln1, x, train)?)?;
        let split = |k: usize| -> Result<Tensor> {
            qkv.narrow(2, k * e, e)?.reshape((b, t, self.heads, d))?.transpose(1, 2)?.contiguous()
        };
        let (q, mut k, mut v) = (split(0)?, split(1)?, split(2)?);
        if let Some((ck, cv)) = cache {
            k = Tensor::cat(&[ck, &k], 2)?;
            v = Tensor::cat(&[cv, &v], 2)?;
        }
        let mut scores = (q.matmul(&k.t()?.contiguous()?)? / (d as f64).sqrt())?;
        if self.causal && t > 1 {
            let mask: Vec<f32> = (0..t * t).map(|i| if i % t > i / t { f32::NEG_INFINITY } else { 0.0 }).collect();
            scores = scores.broadcast_add(&Tensor::from_vec(mask, (t, t), x.device())?)?;
        }
        let weights = if train { ops::softmax(&scores, D::Minus1)? } else { ops::softmax_last_dim(&scores)? };
        let y = weights.matmul(&v)?.transpose(1, 2)?.reshape((b, t, e))?;
        let x = (x + self.proj.forward(&y)?)?;
        let h = self.fc1.forward(&norm(&self.ln2, &x, train)?)?.gelu_erf()?;
        x + self.fc2.forward(&h)?
    }

    /// This block's keys and values of `x`'s steps, for a cache.
    fn keys_values(&self, x: &Tensor) -> Result<(Tensor, Tensor)> {
        let (b, t, e) = x.dims3()?;
        let qkv = self.qkv.forward(&self.ln1.forward(x)?)?;
        let split = |k: usize| -> Result<Tensor> {
            qkv.narrow(2, k * e, e)?.reshape((b, t, self.heads, e / self.heads))?.transpose(1, 2)?.contiguous()
        };
        Ok((split(1)?, split(2)?))
    }
}

/// The character-level GPT: vocabulary 96, 128 features, 4 heads, MLP 512, 2 blocks, `positions` positions.
struct Gpt {
    tok: Embedding,
    pos: Embedding,
    blocks: Vec<Block>,
    ln_f: LayerNorm,
    head: Linear,
}

impl Gpt {
    fn new(positions: usize, vb: VarBuilder) -> Result<Self> {
        let blocks = (0..2).map(|i| Block::new(128, 4, 512, true, vb.pp(format!("blocks.{i}"))));
        Ok(Self {
            tok: embedding(96, 128, vb.pp("tok"))?,
            pos: embedding(positions, 128, vb.pp("pos"))?,
            blocks: blocks.collect::<Result<_>>()?,
            ln_f: layer_norm(128, 1e-5, vb.pp("ln_f"))?,
            head: linear(128, 96, vb.pp("head"))?,
        })
    }

    /// The logits of every step of `ids` `[b, t]` at positions `first..first + t`.
    fn forward(&self, ids: &Tensor, first: usize, train: bool, caches: Option<&[(Tensor, Tensor)]>) -> Result<Tensor> {
        let t = ids.dim(1)?;
        let positions = Tensor::arange(first as u32, (first + t) as u32, ids.device())?;
        let mut h = self.tok.forward(ids)?.broadcast_add(&self.pos.forward(&positions)?)?;
        for (i, block) in self.blocks.iter().enumerate() {
            h = block.forward(&h, train, caches.map(|c| &c[i]))?;
        }
        self.head.forward(&norm(&self.ln_f, &h, train)?)
    }
}

/// The vision transformer: 7×7 patches as 16 steps of 64 features, learned positions, 4 blocks, mean over steps.
struct Vit {
    patch: Conv2d,
    pos: Tensor,
    blocks: Vec<Block>,
    ln: LayerNorm,
    head: Linear,
}

impl Vit {
    fn new(vb: VarBuilder) -> Result<Self> {
        let blocks = (0..4).map(|i| Block::new(64, 4, 128, false, vb.pp(format!("blocks.{i}"))));
        Ok(Self {
            patch: conv2d(1, 64, 7, Conv2dConfig { stride: 7, ..Default::default() }, vb.pp("patch"))?,
            pos: vb.get((16, 64), "pos")?,
            blocks: blocks.collect::<Result<_>>()?,
            ln: layer_norm(64, 1e-5, vb.pp("ln"))?,
            head: linear(64, 10, vb.pp("head"))?,
        })
    }

    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut h = self.patch.forward(x)?.flatten_from(2)?.transpose(1, 2)?.broadcast_add(&self.pos)?;
        for block in &self.blocks {
            h = block.forward(&h, true, None)?;
        }
        self.head.forward(&norm(&self.ln, &h, true)?.mean(1)?)
    }
}

fn ids(windows: &[[u32; 64]]) -> Tensor {
    let flat: Vec<u32> = windows.iter().flatten().copied().collect();
    Tensor::from_vec(flat, (windows.len(), 64), &Device::Cpu).expect("ids")
}

fn targets(ys: &[[usize; 64]]) -> Tensor {
    let flat: Vec<u32> = ys.iter().flatten().map(|&y| y as u32).collect();
    let n = flat.len();
    Tensor::from_vec(flat, n, &Device::Cpu).expect("targets")
}

fn model<M>(make: impl FnOnce(VarBuilder) -> Result<M>) -> (VarMap, M) {
    let varmap = VarMap::new();
    let model = make(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu)).expect("model");
    (varmap, model)
}

pub fn gpt_train(g: &mut Group<'_>, xs: &[[u32; 64]], ys: &[[usize; 64]], lr: f32) {
    let (varmap, gpt) = model(|vb| Gpt::new(64, vb));
    let mut sgd = SGD::new(varmap.all_vars(), f64::from(lr)).expect("optimizer");
    let (x, y) = (ids(xs), targets(ys));
    g.bench_function("candle", |b| {
        b.iter(|| {
            let logits = gpt.forward(&x, 0, true, None).and_then(|l| l.reshape(((), 96))).expect("forward");
            let loss = loss::cross_entropy(&logits, &y).expect("loss");
            sgd.backward_step(&loss).expect("step");
            black_box(loss);
        })
    });
}

pub fn gpt_infer(g: &mut Group<'_>, xs: &[[u32; 64]]) {
    let (_varmap, gpt) = model(|vb| Gpt::new(64, vb));
    let x = ids(xs);
    g.bench_function("candle", |b| b.iter(|| black_box(gpt.forward(&x, 0, false, None).expect("forward"))));
}

pub fn gpt_generate(g: &mut Group<'_>, prefix: &[u32; 64]) {
    let (_varmap, gpt) = model(|vb| Gpt::new(128, vb));
    let x = ids(std::slice::from_ref(prefix));
    // The cache of the 64 steps before: each block's keys and values of its input.
    let positions = Tensor::arange(0u32, 64, &Device::Cpu).expect("positions");
    let mut h = gpt.tok.forward(&x).and_then(|t| t.broadcast_add(&gpt.pos.forward(&positions)?)).expect("embed");
    let mut caches = Vec::new();
    for block in &gpt.blocks {
        caches.push(block.keys_values(&h).expect("cache"));
        h = block.forward(&h, false, None).expect("block");
    }
    let token = Tensor::from_vec(vec![17u32], (1, 1), &Device::Cpu).expect("token");
    g.bench_function("candle", |b| b.iter(|| black_box(gpt.forward(&token, 64, false, Some(&caches)).expect("step"))));
}

pub fn vit_train(g: &mut Group<'_>, x: &[f32], y: &[usize], lr: f32) {
    let (varmap, vit) = model(Vit::new);
    let mut sgd = SGD::new(varmap.all_vars(), f64::from(lr)).expect("optimizer");
    let x = Tensor::from_slice(x, (y.len(), 1, 28, 28), &Device::Cpu).expect("images");
    let y: Vec<u32> = y.iter().map(|&v| v as u32).collect();
    let y = Tensor::new(y.as_slice(), &Device::Cpu).expect("labels");
    g.bench_function("candle", |b| {
        b.iter(|| {
            let loss = loss::cross_entropy(&vit.forward(&x).expect("forward"), &y).expect("loss");
            sgd.backward_step(&loss).expect("step");
            black_box(loss);
        })
    });
}
