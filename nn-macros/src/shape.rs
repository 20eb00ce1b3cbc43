//! Tensor shapes as the checker tracks them, and their display in messages.

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
    /// Values per sample.
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
