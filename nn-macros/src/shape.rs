//! Tensor shapes as the checker tracks them, built with checked arithmetic, and their display in messages.

/// The most values one sample may hold at any layer, and the most parameters a network may have: 2³¹ (8 GiB of
/// f32). Every buffer the runtime derives from these sizes (a chunk of 32 samples, gradients, optimizer moments)
/// then stays far below `isize::MAX` bytes, so no size computed from a declaration can overflow, and a
/// declaration that cannot fit in any memory is an error under its layer instead of a failure at run time.
pub const MAX_VALUES: usize = 1 << 31;

/// The shape of one sample between two layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `N` features.
    Flat {
        /// Number of features.
        len: usize,
        /// The image shape this came from through `Flatten`, for messages ("16×4×4 = 256").
        from: Option<[usize; 3]>,
    },
    /// `C × H × W`.
    Image([usize; 3]),
    /// After an error that leaves the shape unknown; checks that need it are skipped, so one mistake is reported
    /// once rather than at every later layer.
    Unknown,
}

impl Shape {
    /// `len` features, or a message if that is more than [`MAX_VALUES`].
    pub fn flat(len: usize) -> Result<Shape, String> {
        product(&[len]).map(|len| Shape::Flat { len, from: None })
    }

    /// A `c × h × w` image, or a message if it holds more than [`MAX_VALUES`] values.
    pub fn image(c: usize, h: usize, w: usize) -> Result<Shape, String> {
        product(&[c, h, w]).map(|_| Shape::Image([c, h, w]))
    }

    /// Values per sample (0 when unknown; never more than [`MAX_VALUES`]).
    pub fn len(&self) -> usize {
        match self {
            Shape::Flat { len, .. } => *len,
            Shape::Image([c, h, w]) => c * h * w,
            Shape::Unknown => 0,
        }
    }

    /// The dimensions, outermost first.
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Shape::Flat { len, .. } => vec![*len],
            Shape::Image(d) => d.to_vec(),
            Shape::Unknown => vec![],
        }
    }

    /// How messages describe what a layer produces: `256`, `16×4×4 = 256`, or `1×28×28`.
    pub fn describe(&self) -> String {
        match self {
            Shape::Flat { len, from: Some([c, h, w]) } => format!("{c}×{h}×{w} = {len}"),
            Shape::Flat { len, from: None } => len.to_string(),
            Shape::Image([c, h, w]) => format!("{c}×{h}×{w}"),
            Shape::Unknown => "an unknown shape".into(),
        }
    }

    /// `6×24×24` or `120`, for summaries.
    pub fn short(&self) -> String {
        self.dims().iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×")
    }
}

/// The product of `dims`, or a message if it overflows or exceeds [`MAX_VALUES`].
pub fn product(dims: &[usize]) -> Result<usize, String> {
    dims.iter()
        .try_fold(1usize, |acc, &d| acc.checked_mul(d))
        .filter(|&n| n <= MAX_VALUES)
        .ok_or_else(|| too_large(dims))
}

/// The message for sizes beyond [`MAX_VALUES`].
pub fn too_large(dims: &[usize]) -> String {
    let shown = dims.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×");
    format!("{shown} values is more than `nn` allows in one tensor (2^31 = {MAX_VALUES}, 8 GiB of f32)")
}
