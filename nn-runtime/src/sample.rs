//! Fixed-size samples: nested `f32` arrays viewed as flat slices without copying.

/// A sample type of statically known size: `f32` or a (nested) array of them, such as `[[[f32; 28]; 28]; 1]`.
///
/// Nested arrays are contiguous, so a slice of samples is also a flat `&[f32]`; kernels work on that view and
/// the typed arrays only appear at the API's edge. All conversions here are safe re-borrows (`as_flattened`,
/// `as_chunks`), never copies.
pub trait Sample: Copy + Send + Sync + 'static {
    /// Number of `f32` values in one sample.
    const LEN: usize;

    /// The all-zero sample.
    fn zeroed() -> Self;

    /// The dimensions, outermost first: `[1, 28, 28]` for `[[[f32; 28]; 28]; 1]`, `[]` for `f32`.
    #[cfg(feature = "std")]
    fn shape() -> Vec<usize>;

    /// A slice of samples as one flat slice.
    fn flat(samples: &[Self]) -> &[f32];

    /// A mutable slice of samples as one flat slice.
    fn flat_mut(samples: &mut [Self]) -> &mut [f32];

    /// A flat slice as samples.
    ///
    /// # Panics
    /// If `values.len()` is not a multiple of [`Sample::LEN`].
    fn from_flat(values: &[f32]) -> &[Self];

    /// A mutable flat slice as samples.
    ///
    /// # Panics
    /// If `values.len()` is not a multiple of [`Sample::LEN`].
    fn from_flat_mut(values: &mut [f32]) -> &mut [Self];
}

impl Sample for f32 {
    const LEN: usize = 1;

    fn zeroed() -> Self {
        0.0
    }

    #[cfg(feature = "std")]
    fn shape() -> Vec<usize> {
        Vec::new()
    }

    fn flat(samples: &[Self]) -> &[f32] {
        samples
    }

    fn flat_mut(samples: &mut [Self]) -> &mut [f32] {
        samples
    }

    fn from_flat(values: &[f32]) -> &[Self] {
        values
    }

    fn from_flat_mut(values: &mut [f32]) -> &mut [Self] {
        values
    }
}

impl<T: Sample, const N: usize> Sample for [T; N] {
    const LEN: usize = N * T::LEN;

    fn zeroed() -> Self {
        [T::zeroed(); N]
    }

    #[cfg(feature = "std")]
    fn shape() -> Vec<usize> {
        let mut dims = vec![N];
        dims.extend(T::shape());
        dims
    }

    fn flat(samples: &[Self]) -> &[f32] {
        T::flat(samples.as_flattened())
    }

    fn flat_mut(samples: &mut [Self]) -> &mut [f32] {
        T::flat_mut(samples.as_flattened_mut())
    }

    fn from_flat(values: &[f32]) -> &[Self] {
        let (chunks, rest) = T::from_flat(values).as_chunks::<N>();
        assert!(rest.is_empty(), "{} values do not divide into samples of {}", values.len(), Self::LEN);
        chunks
    }

    fn from_flat_mut(values: &mut [f32]) -> &mut [Self] {
        let len = values.len();
        let (chunks, rest) = T::from_flat_mut(values).as_chunks_mut::<N>();
        assert!(rest.is_empty(), "{len} values do not divide into samples of {}", Self::LEN);
        chunks
    }
}

/// One sample as the batch methods take and return it: a fixed-size array (every [`Sample`]), or a sequence of any
/// number of steps of `F` values (`Vec<[f32; F]>`).
///
/// A network's `Input` and `Output` are `Example`s. Fixed-size samples are laid out back to back in a slice, so a
/// batch of them is one flat slice without a copy; a batch of sequences is gathered, step by step, into the
/// network's buffers.
pub trait Example: Clone + Send + Sync + 'static {
    /// `Some(values per sample)` for a fixed-size type, `None` for sequences of any length.
    const FIXED_LEN: Option<usize>;

    /// Whether the values are token ids (`u32`, seen as the bits of `f32`s: see [`Example::values`]) rather than
    /// numbers.
    const TOKENS: bool = false;

    /// The sample's values, row-major (a sequence's steps one after the other). Token ids are seen as the bits of
    /// `f32`s (`f32::from_bits(id)`), exactly: that is how they travel through a pass's buffers to `Embedding`.
    fn values(&self) -> &[f32];

    /// The sample's values, mutably.
    fn values_mut(&mut self) -> &mut [f32];

    /// A sample of `len` zeros (a fixed-size type has its own length whatever `len` says).
    fn zeros(len: usize) -> Self;

    /// Sets the values to `values`: a sequence takes its length from them (reusing its capacity), a fixed-size
    /// sample must receive exactly its length.
    ///
    /// # Panics
    /// If a fixed-size sample receives another number of values, or a sequence a number that is not a multiple
    /// of its step.
    fn assign(&mut self, values: &[f32]);

    /// A slice of fixed-size samples as one flat slice (`None` for sequences).
    fn flat_slice(items: &[Self]) -> Option<&[f32]>;

    /// A mutable slice of fixed-size samples as one flat slice (`None` for sequences).
    fn flat_slice_mut(items: &mut [Self]) -> Option<&mut [f32]>;
}

impl<T: Sample> Example for T {
    const FIXED_LEN: Option<usize> = Some(T::LEN);

    fn values(&self) -> &[f32] {
        T::flat(core::slice::from_ref(self))
    }

    fn values_mut(&mut self) -> &mut [f32] {
        T::flat_mut(core::slice::from_mut(self))
    }

    fn zeros(_: usize) -> Self {
        T::zeroed()
    }

    fn assign(&mut self, values: &[f32]) {
        self.values_mut().copy_from_slice(values);
    }

    fn flat_slice(items: &[Self]) -> Option<&[f32]> {
        Some(T::flat(items))
    }

    fn flat_slice_mut(items: &mut [Self]) -> Option<&mut [f32]> {
        Some(T::flat_mut(items))
    }
}

#[cfg(feature = "std")]
impl<const F: usize> Example for Vec<[f32; F]> {
    const FIXED_LEN: Option<usize> = None;

    fn values(&self) -> &[f32] {
        self.as_flattened()
    }

    fn values_mut(&mut self) -> &mut [f32] {
        self.as_flattened_mut()
    }

    fn zeros(len: usize) -> Self {
        vec![[0.0; F]; len / F.max(1)]
    }

    fn assign(&mut self, values: &[f32]) {
        let (steps, rest) = values.as_chunks::<F>();
        assert!(rest.is_empty(), "{} values are not whole steps of {F}", values.len());
        self.clear();
        self.extend_from_slice(steps);
    }

    fn flat_slice(_: &[Self]) -> Option<&[f32]> {
        None
    }

    fn flat_slice_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}

/// One token id: the input of `Input<Tokens<V>>`.
impl Example for u32 {
    const FIXED_LEN: Option<usize> = Some(1);
    const TOKENS: bool = true;

    fn values(&self) -> &[f32] {
        bytemuck::cast_slice(core::slice::from_ref(self))
    }

    fn values_mut(&mut self) -> &mut [f32] {
        bytemuck::cast_slice_mut(core::slice::from_mut(self))
    }

    fn zeros(_: usize) -> Self {
        0
    }

    fn assign(&mut self, values: &[f32]) {
        let [one] = values else { panic!("one token id takes one value, got {}", values.len()) };
        *self = one.to_bits();
    }

    fn flat_slice(items: &[Self]) -> Option<&[f32]> {
        Some(bytemuck::cast_slice(items))
    }

    fn flat_slice_mut(items: &mut [Self]) -> Option<&mut [f32]> {
        Some(bytemuck::cast_slice_mut(items))
    }
}

/// A sequence of exactly `T` token ids: the input of `Input<Seq<T>, Tokens<V>>`.
impl<const T: usize> Example for [u32; T] {
    const FIXED_LEN: Option<usize> = Some(T);
    const TOKENS: bool = true;

    fn values(&self) -> &[f32] {
        bytemuck::cast_slice(self)
    }

    fn values_mut(&mut self) -> &mut [f32] {
        bytemuck::cast_slice_mut(self)
    }

    fn zeros(_: usize) -> Self {
        [0; T]
    }

    fn assign(&mut self, values: &[f32]) {
        assert_eq!(values.len(), T, "{T} token ids take {T} values");
        self.iter_mut().zip(values).for_each(|(id, v)| *id = v.to_bits());
    }

    fn flat_slice(items: &[Self]) -> Option<&[f32]> {
        Some(bytemuck::cast_slice(items.as_flattened()))
    }

    fn flat_slice_mut(items: &mut [Self]) -> Option<&mut [f32]> {
        Some(bytemuck::cast_slice_mut(items.as_flattened_mut()))
    }
}

/// A sequence of token ids of any length: the input of `Input<Seq, Tokens<V>>`.
#[cfg(feature = "std")]
impl Example for Vec<u32> {
    const FIXED_LEN: Option<usize> = None;
    const TOKENS: bool = true;

    fn values(&self) -> &[f32] {
        bytemuck::cast_slice(self)
    }

    fn values_mut(&mut self) -> &mut [f32] {
        bytemuck::cast_slice_mut(self)
    }

    fn zeros(len: usize) -> Self {
        vec![0; len]
    }

    fn assign(&mut self, values: &[f32]) {
        self.clear();
        self.extend(values.iter().map(|v| v.to_bits()));
    }

    fn flat_slice(_: &[Self]) -> Option<&[f32]> {
        None
    }

    fn flat_slice_mut(_: &mut [Self]) -> Option<&mut [f32]> {
        None
    }
}

/// Views exactly `T::LEN` values as one `T`.
///
/// # Panics
/// If `values.len() != T::LEN`.
pub fn view<T: Sample>(values: &[f32]) -> &T {
    match T::from_flat(values) {
        [one] => one,
        other => panic!("expected {} values for one sample, got {}", T::LEN, other.len() * T::LEN),
    }
}

/// Views exactly `T::LEN` values as one mutable `T`.
///
/// # Panics
/// If `values.len() != T::LEN`.
pub fn view_mut<T: Sample>(values: &mut [f32]) -> &mut T {
    let len = values.len();
    match T::from_flat_mut(values) {
        [one] => one,
        _ => panic!("expected {} values for one sample, got {len}", T::LEN),
    }
}

/// Index of the largest value (the first, on ties): the predicted class of a row of logits or probabilities.
///
/// NaN counts as larger than any number, as in PyTorch's `argmax`: the index of the first NaN is returned if
/// there is one. (Accuracy never counts a row with a NaN as a hit: see [`predicted_class`].) 0 for an empty row.
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in values.iter().enumerate() {
        let current = values[best];
        if v > current || (v.is_nan() && !current.is_nan()) {
            best = i;
        }
    }
    best
}

/// The class a row of outputs predicts, or `None` if any of its values is NaN: a network whose output is NaN
/// predicts nothing, and accuracy counts it as a miss whatever the label.
pub fn predicted_class(values: &[f32]) -> Option<usize> {
    if values.iter().any(|v| v.is_nan()) {
        None
    } else {
        Some(argmax(values))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_arrays_round_trip_through_flat_views() {
        let mut xs = [[[1.0f32, 2.0], [3.0, 4.0]], [[5.0, 6.0], [7.0, 8.0]]];
        assert_eq!(<[[f32; 2]; 2]>::LEN, 4);
        assert_eq!(<[[[f32; 28]; 14]; 1]>::shape(), [1, 14, 28]);
        assert_eq!(<[[f32; 2]; 2]>::flat(&xs), &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        <[[f32; 2]; 2]>::flat_mut(&mut xs)[7] = 0.0;
        assert_eq!(xs[1][1][1], 0.0);
        let back: &[[[f32; 2]; 2]] = Sample::from_flat(&[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(back, &[[[0.0, 1.0], [2.0, 3.0]]]);
        let one: &[[f32; 2]; 2] = view(&[9.0, 8.0, 7.0, 6.0]);
        assert_eq!(one[1][0], 7.0);
    }

    #[test]
    fn examples_are_arrays_or_sequences() {
        assert_eq!(<[[f32; 3]; 2] as Example>::FIXED_LEN, Some(6));
        let xs = [[[1.0f32, 2.0], [3.0, 4.0]]];
        assert_eq!(Example::flat_slice(&xs[..]), Some(&[1.0, 2.0, 3.0, 4.0][..]));
        let mut seq: Vec<[f32; 2]> = Example::zeros(6);
        assert_eq!(seq.len(), 3);
        seq.assign(&[5.0, 6.0]);
        assert_eq!((seq.values(), <Vec<[f32; 2]> as Example>::FIXED_LEN), (&[5.0, 6.0][..], None));
        assert!(<Vec<[f32; 2]> as Example>::flat_slice(&[seq]).is_none());
    }

    #[test]
    #[should_panic(expected = "do not divide")]
    fn ragged_flat_slices_are_rejected() {
        let _ = <[f32; 3]>::from_flat(&[0.0; 4]);
    }

    #[test]
    fn argmax_picks_the_first_maximum() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7, -1.0]), 1);
        assert_eq!(argmax(&[0.1, f32::NAN, 0.7, f32::NAN]), 1, "NaN is the maximum, as torch.argmax");
        assert_eq!(argmax(&[f32::NAN, 3.0]), 0);
        assert_eq!(predicted_class(&[0.1, 0.7]), Some(1));
        assert_eq!(predicted_class(&[f32::NAN; 3]), None);
        assert_eq!(predicted_class(&[1.0, f32::NAN]), None);
    }
}
