//! What the generated passes read and write, in every build (`no_std` included): the model's arrays and the
//! activation buffers, owned (`Vec`s of a workspace) or borrowed (slices of a caller's buffer).

/// The parameters and buffers the generated passes read (generated code; not for users).
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Model<'a> {
    /// Every parameter.
    pub params: &'a [f32],
    /// Every buffer value.
    pub buffers: &'a [f32],
}

/// Buffer `k` of a pass: 0 is the chunk's input, `k ≥ 1` is `acts[k - 1]`; the first `len` values (generated
/// code; not for users).
#[doc(hidden)]
pub fn buffer<'a, B: AsRef<[f32]>>(input: &'a [f32], acts: &'a [B], k: usize, len: usize) -> &'a [f32] {
    if k == 0 {
        &input[..len]
    } else {
        &acts[k - 1].as_ref()[..len]
    }
}

/// A layer's input buffer (read) and output buffer (written), `input < output`, output ≥ 1 (generated code;
/// not for users).
#[doc(hidden)]
pub fn layer_io<'a, B: AsMut<[f32]>>(
    input: &'a [f32],
    acts: &'a mut [B],
    from: usize,
    to: usize,
    in_len: usize,
    out_len: usize,
) -> (&'a [f32], &'a mut [f32]) {
    debug_assert!(from < to && to >= 1);
    let (before, after) = acts.split_at_mut(to - 1);
    let x = if from == 0 { &input[..in_len] } else { &before[from - 1].as_mut()[..in_len] };
    (x, &mut after[0].as_mut()[..out_len])
}

/// The type of a field of a network whose declaration has errors (generated code; not for users): its views
/// take any type, so code using the field raises no error beyond the declaration's own.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, Default)]
pub struct Unchecked;

impl Unchecked {
    /// Never called: the network does not compile.
    pub fn weight<T>(&self, _: &[f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn weight_mut<T>(&self, _: &mut [f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn bias<T>(&self, _: &[f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn bias_mut<T>(&self, _: &mut [f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn running_mean<T>(&self, _: &[f32]) -> T {
        unreachable!("a network with errors does not compile")
    }

    /// Never called: the network does not compile.
    pub fn running_var<T>(&self, _: &[f32]) -> T {
        unreachable!("a network with errors does not compile")
    }
}

/// The buffers of one forward pass, however they are held: a workspace's `Vec`s, or slices of one array a
/// `no_std` caller provides (generated code; not for users).
#[doc(hidden)]
pub struct PassBuffers<'a, B> {
    /// One buffer per layer output.
    pub acts: &'a mut [B],
    /// One buffer per running layer: what its forward pass keeps for its backward pass.
    pub saved: &'a mut [B],
    /// Scratch shared by all layers.
    pub scratch: &'a mut [f32],
    /// Partial sums of the whole-batch layers.
    pub partials: &'a mut [f64],
    /// One buffer per running layer: the states it carries between calls.
    pub states: &'a mut [B],
}

/// The network's state (its layers' states, one after the other) cut into each running layer's part, `lens[k]`
/// values for layer `k`: what a stream's step reads and writes in place (generated code; not for users).
#[doc(hidden)]
pub fn split_states<'a, const N: usize>(state: &'a mut [f32], lens: &[usize]) -> [&'a mut [f32]; N] {
    let mut rest = state;
    core::array::from_fn(|k| {
        let (own, after) = core::mem::take(&mut rest).split_at_mut(lens[k]);
        rest = after;
        own
    })
}
