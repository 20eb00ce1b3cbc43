//! LeNet-5 for MNIST digits in a `#![no_std]` crate without `alloc`.
//!
//! The weights are those `cargo run --release --example lenet_mnist` trains on the full MNIST (`models/`, 0.9902
//! test accuracy). `#[weights]` checks them against the declaration and embeds them when this crate is compiled:
//! they are two statics (flash on a device), and nothing is read, allocated or dispatched at run time.
//! Instruction sets are those the crate is compiled for (`-C target-feature`, `-C target-cpu`).
//!
//! ```
//! let blank = [[0.0f32; 28]; 28];
//! assert!(nn_embedded::classify(&blank) < 10);
//! ```

#![no_std]

use nn::prelude::*;

network! {
    /// LeNet-5 as `examples/lenet_mnist.rs` declares and trains it.
    #[weights = "../../models/lenet5.safetensors"]
    pub struct LeNet5 {
        Input<1, 28, 28>
        -> conv1: Conv2d<1, 6, 5> -> ReLU -> MaxPool<2, 2>
        -> conv2: Conv2d<6, 16, 5> -> ReLU -> MaxPool<2, 2>
        -> Flatten
        -> fc1: Linear<256, 120> -> ReLU
        -> fc2: Linear<120, 84> -> ReLU
        -> fc3: Linear<84, 10>
    }
}

/// The buffer one classification works in: [`LeNet5::STATIC_BYTES`] bytes, on the stack in [`classify`] or
/// wherever the caller keeps it for [`classify_with`] (a `static`, say).
pub type Buffer = [f32; LeNet5::STATIC_FLOATS];

/// The digit in `image`: 28×28 pixels in [0, 1] (MNIST's bytes / 255), row by row. Its buffer,
/// [`LeNet5::STATIC_BYTES`] (41,992 bytes), is on the stack: on a device with a small stack, keep it elsewhere and
/// call [`classify_with`].
pub fn classify(image: &[[f32; 28]; 28]) -> u8 {
    classify_with(image, &mut [0.0; LeNet5::STATIC_FLOATS])
}

/// [`classify`] in the caller's `buffer`.
pub fn classify_with(image: &[[f32; 28]; 28], buffer: &mut Buffer) -> u8 {
    // The normalisation the network was trained with: MNIST's mean and standard deviation.
    let x = [image.map(|row| row.map(|p| (p - 0.1307) / 0.3081))];
    let logits = LeNet5::pretrained().forward_static(&x, buffer);
    nn::argmax(&logits) as u8
}

/// [`classify`] for C: `pixels` points to 784 `f32` values, row by row.
///
/// # Safety
/// `pixels` must be valid for reading 784 `f32` values.
/// Two more networks the `no_std` build runs, with weights of the `nn` repository's test data: batch norm in eval
/// mode, stacked bidirectional LSTMs, blocks, and a tiny GPT generating with its key/value cache
/// (`tests/embedded_agreement.rs` compares them with the `std` build).
pub mod zoo {
    use nn::prelude::*;

    network! {
        /// Convolution, batch norm (its running statistics), pooling and a linear layer.
        #[weights = "../../tests/data/weights/bn_net.safetensors"]
        pub struct BnNet {
            Input<1, 8, 8> -> conv: Conv2d<1, 4, 3, bias = false> -> bn: BatchNorm -> ReLU -> MaxPool<2, 2>
            -> Flatten -> fc: Linear<36, 3>
        }

        /// Two stacked bidirectional LSTM layers over 6 steps, averaged over time.
        #[weights = "../../tests/data/weights/seq_net.safetensors"]
        pub struct SeqNet {
            Input<Seq<6>, 3> -> lstm: LSTM<3, 5, layers = 2, bidirectional = true> -> MeanOverTime
            -> fc: Linear<10, 4>
        }

        /// A tiny GPT: token ids, learned positions, two pre-norm blocks of causal attention; generation runs
        /// with the key/value cache in `step_static`.
        #[weights = "../../tests/data/weights/tiny_gpt.safetensors"]
        pub struct TinyGpt {
        Input<Seq<6>, Tokens<11>>
        -> tok: Embedding<11, 8> -> pos: PositionalEmbedding<6, 8>
        -> blocks: Repeat<2> {
               Residual { ln1: LayerNorm<8> -> attn: MultiheadAttention<8, 2, causal = true> }
               -> Residual { ln2: LayerNorm<8> -> fc1: Linear<8, 16> -> GELU -> fc2: Linear<16, 8> }
           }
        -> ln_f: LayerNorm<8> -> head: Linear<8, 11>
        }

        /// A network that branches: a residual block with batch norm, a concatenation with an identity branch.
        #[weights = "../../tests/data/weights/branch_net.safetensors"]
        pub struct BranchNet {
            Input<1, 8, 8>
            -> stem: Conv2d<1, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU
            -> block: Residual { conv: Conv2d<4, 4, 3, padding = 1> -> bn: BatchNorm -> ReLU }
            -> mix: Concat { a: Conv2d<4, 2, 1> -> Tanh | Identity }
            -> GlobalAvgPool -> fc: Linear<6, 3>
        }
    }
}

#[cfg(feature = "staticlib")]
#[no_mangle]
pub unsafe extern "C" fn nn_classify(pixels: *const f32) -> u8 {
    // SAFETY: the caller passes 784 readable values, which is one `[[f32; 28]; 28]` (align 4, as f32's).
    classify(unsafe { &*pixels.cast::<[[f32; 28]; 28]>() })
}

#[cfg(feature = "staticlib")]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
