//! Tensor shapes as the checker tracks them, built with checked arithmetic, and their display in messages.

/// The most values one sample may hold at any layer, and the most parameters a network may have: 2³¹ (8 GiB of
/// f32). Every buffer the runtime derives from these sizes (a chunk of 32 samples, gradients, optimizer moments)
/// then stays far below `isize::MAX` bytes, so no size computed from a declaration can overflow, and a
/// declaration that cannot fit in any memory is an error under its layer instead of a failure at run time.
pub const MAX_VALUES: usize = 1 << 31;

/// What a flat shape was made from, for messages.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Origin {
    /// An image, through `Flatten`.
    Image([usize; 3]),
    /// A recurrent layer's `directions × hidden` values per step, through a reduction over time.
    Directions(usize, usize),
}

/// The most steps a sequence of any length may have (a positional layer's table), which sizes a key/value cache.
/// It is not part of a shape's identity: two sequences with the same steps and width match whatever their
/// limits.
#[derive(Clone, Copy, Debug, Default)]
pub struct Limit(pub Option<usize>);

impl PartialEq for Limit {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Limit {}

/// The shape of one sample between two layers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Shape {
    /// `N` features.
    Flat {
        /// Number of features.
        len: usize,
        /// Where they came from, for messages ("16×4×4 = 256", "2×16 = 32").
        from: Option<Origin>,
    },
    /// `C × H × W`.
    Image([usize; 3]),
    /// A sequence: `steps` time steps (`None`: any number) of `len` values each.
    Sequence {
        /// The fixed number of steps, or `None` for sequences of any length.
        steps: Option<usize>,
        /// Values per step.
        len: usize,
        /// For the output of a recurrent layer: its directions and hidden size, for messages ("2×16 = 32").
        from: Option<(usize, usize)>,
        /// For a sequence of any length: the most steps the network accepts, once a positional layer bounds it.
        limit: Limit,
    },
    /// Token ids below `vocab`: one per sample (`steps: None`), or one per step of a sequence (`Some(Some(t))`
    /// for `t` steps, `Some(None)` for any number). Only `Embedding` reads them.
    Tokens { vocab: usize, steps: Option<Option<usize>> },
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

    /// A sequence of `steps` (`None`: any number) of `len` values, or a message if a step — or, for a fixed
    /// number of steps, a whole sample — holds more than [`MAX_VALUES`].
    pub fn sequence(steps: Option<usize>, len: usize) -> Result<Shape, String> {
        product(&[len])?;
        if let Some(t) = steps {
            product(&[t, len])?;
        }
        Ok(Shape::Sequence { steps, len, from: None, limit: Limit::default() })
    }

    /// The same time axis as `self` (a sequence) with `len` values per step, or a flat shape of `len` values.
    pub fn per_step(&self, len: usize) -> Result<Shape, String> {
        match self {
            Shape::Sequence { steps, limit, .. } => Shape::sequence(*steps, len).map(|s| s.with_limit(limit.0)),
            Shape::Tokens { steps: Some(steps), .. } => Shape::sequence(*steps, len),
            _ => Shape::flat(len),
        }
    }

    /// A sequence with its steps bounded by `max` (if given) as well as by any earlier bound.
    pub fn with_limit(self, max: Option<usize>) -> Shape {
        match self {
            Shape::Sequence { steps, len, from, limit } => {
                let bound = match (limit.0, max) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                Shape::Sequence { steps, len, from, limit: Limit(bound) }
            }
            other => other,
        }
    }

    /// The most steps a sample may have: a fixed length, or a positional layer's bound; `None` if unbounded (or
    /// not a sequence).
    pub fn max_steps(&self) -> Option<usize> {
        match self {
            Shape::Sequence { steps: Some(t), .. } => Some(*t),
            Shape::Sequence { limit, .. } => limit.0,
            _ => None,
        }
    }

    /// Values per row: per sample, or per time step of a sequence (0 when unknown; never more than
    /// [`MAX_VALUES`]).
    pub fn len(&self) -> usize {
        match self {
            Shape::Flat { len, .. } | Shape::Sequence { len, .. } => *len,
            Shape::Image([c, h, w]) => c * h * w,
            Shape::Tokens { .. } => 1,
            Shape::Unknown => 0,
        }
    }

    /// Whether it is a sequence of any length (a sample's type is then a `Vec`).
    pub fn any_length(&self) -> bool {
        matches!(self, Shape::Sequence { steps: None, .. } | Shape::Tokens { steps: Some(None), .. })
    }

    /// Whether the shape has a time axis (a row per step).
    pub fn is_sequence(&self) -> bool {
        matches!(self, Shape::Sequence { .. } | Shape::Tokens { steps: Some(_), .. })
    }

    /// The dimensions, outermost first (a time axis of any length is 0).
    pub fn dims(&self) -> Vec<usize> {
        match self {
            Shape::Flat { len, .. } => vec![*len],
            Shape::Image(d) => d.to_vec(),
            Shape::Sequence { steps, len, .. } => vec![steps.unwrap_or(0), *len],
            Shape::Tokens { steps: Some(steps), .. } => vec![steps.unwrap_or(0)],
            Shape::Tokens { steps: None, .. } | Shape::Unknown => vec![],
        }
    }

    /// How messages describe what a layer produces: `256`, `16×4×4 = 256`, `1×28×28`, or `28 steps of 128`.
    pub fn describe(&self) -> String {
        match self {
            Shape::Flat { len, from: Some(Origin::Image([c, h, w])) } => format!("{c}×{h}×{w} = {len}"),
            Shape::Flat { len, from: Some(Origin::Directions(2, hidden)) } => format!("2×{hidden} = {len}"),
            Shape::Flat { len, .. } => len.to_string(),
            Shape::Image([c, h, w]) => format!("{c}×{h}×{w}"),
            Shape::Sequence { steps, len, from, .. } => {
                let values = match from {
                    Some((2, hidden)) => format!("2×{hidden} = {len}"),
                    _ => len.to_string(),
                };
                match steps {
                    Some(t) => format!("a sequence of {t} steps of {values} values"),
                    None => format!("a sequence of steps of {values} values"),
                }
            }
            Shape::Tokens { vocab, steps: None } => format!("a token id below {vocab}"),
            Shape::Tokens { vocab, steps: Some(None) } => format!("a sequence of token ids below {vocab}"),
            Shape::Tokens { vocab, steps: Some(Some(t)) } => format!("a sequence of {t} token ids below {vocab}"),
            Shape::Unknown => "an unknown shape".into(),
        }
    }

    /// How messages about blocks name a shape: `16×28×28`, `256 features`, `28 steps of 16 features` or `steps
    /// of 16 features`.
    pub fn shown(&self) -> String {
        match self {
            Shape::Image([c, h, w]) => format!("{c}×{h}×{w}"),
            Shape::Flat { len, .. } => format!("{len} features"),
            Shape::Sequence { steps: Some(t), len, .. } => format!("{t} steps of {len} features"),
            Shape::Sequence { steps: None, len, .. } => format!("steps of {len} features"),
            Shape::Tokens { .. } => self.describe(),
            Shape::Unknown => "an unknown shape".into(),
        }
    }

    /// `6×24×24`, `120`, `28×128` or `T×128`, for summaries.
    pub fn short(&self) -> String {
        match self {
            Shape::Sequence { steps: None, len, .. } => format!("T×{len}"),
            Shape::Tokens { steps: None, .. } => "1 id".into(),
            Shape::Tokens { steps: Some(None), .. } => "T ids".into(),
            Shape::Tokens { steps: Some(Some(t)), .. } => format!("{t} ids"),
            _ => self.dims().iter().map(|d| d.to_string()).collect::<Vec<_>>().join("×"),
        }
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
