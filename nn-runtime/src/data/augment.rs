//! Data augmentation for images: random crops with padding, horizontal flips, translations and rotations, drawn
//! reproducibly from a seed.

use crate::sample::Example;
use crate::{Error, Result, Rng};

/// Random image transformations applied to training batches (see [`crate::train::TrainConfig::augment`]).
///
/// Each sample's transformation is drawn from the seed, the epoch and the sample's index in its data set — not
/// from the batch it lands in or the thread that handles it — so a run is reproducible from its seed, each epoch
/// sees new variants, and resuming from a checkpoint replays the same ones. Labels are never touched; pixels that
/// come from outside the image get the `fill` value (0 unless set; for normalised data, the normalised
/// background, e.g. `−0.1307/0.3081` for MNIST).
///
/// ```
/// use nn_runtime::data::Augment;
/// let augment = Augment::new(7).random_crop(2).horizontal_flip().rotate(10.0);
/// let mut images = vec![[[[0.5f32; 8]; 8]; 1]; 4];
/// augment.apply(&mut images, [1, 8, 8], &[0, 1, 2, 3], 1).unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
#[must_use = "an `Augment` is a value: its builder methods return the changed copy"]
pub struct Augment {
    /// The seed every transformation is drawn from.
    pub seed: u64,
    /// Pad by this many zero pixels on every side, then crop back to the original size at a random position (as
    /// torchvision's `RandomCrop(size, padding)`); 0 for none.
    pub crop_padding: usize,
    /// Mirror left–right with probability ½.
    pub flip: bool,
    /// Shift by a random whole number of pixels in `-max_shift..=max_shift` along each axis; 0 for none.
    pub max_shift: usize,
    /// Rotate about the centre by a random angle in `±max_rotation` degrees (bilinear); 0 for none.
    pub max_rotation: f32,
    /// The value of pixels that come from outside the image.
    pub fill: f32,
}

impl Augment {
    /// No transformation yet, drawing from `seed`; add them with the builder methods.
    pub fn new(seed: u64) -> Self {
        Self { seed, crop_padding: 0, flip: false, max_shift: 0, max_rotation: 0.0, fill: 0.0 }
    }

    /// The value of pixels that come from outside the image (the background).
    pub fn fill(mut self, value: f32) -> Self {
        self.fill = value;
        self
    }

    /// Random crops after padding by `padding` pixels.
    pub fn random_crop(mut self, padding: usize) -> Self {
        self.crop_padding = padding;
        self
    }

    /// Random left–right flips.
    pub fn horizontal_flip(mut self) -> Self {
        self.flip = true;
        self
    }

    /// Random translations of up to `pixels` along each axis.
    pub fn translate(mut self, pixels: usize) -> Self {
        self.max_shift = pixels;
        self
    }

    /// Random rotations of up to `degrees` either way.
    pub fn rotate(mut self, degrees: f32) -> Self {
        self.max_rotation = degrees;
        self
    }

    /// Checks the settings against an image shape `[C, H, W]`.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] for a non-finite or negative rotation, or a shift or padding as large as the
    /// image.
    pub fn validate(&self, shape: [usize; 3]) -> Result<()> {
        let bad = |problem: String| Err(Error::InvalidSetting { name: "augment", problem });
        let [_, h, w] = shape;
        if !self.fill.is_finite() {
            return bad(format!("fill must be finite, not {}", self.fill));
        }
        if !self.max_rotation.is_finite() || self.max_rotation < 0.0 {
            return bad(format!("max_rotation must be a finite number of degrees ≥ 0, not {}", self.max_rotation));
        }
        let reach = self.crop_padding.saturating_add(self.max_shift);
        if reach >= h.min(w) {
            return bad(format!(
                "crop padding {} plus shift {} can move a {h}×{w} image entirely out of view; use less than {}",
                self.crop_padding,
                self.max_shift,
                h.min(w)
            ));
        }
        Ok(())
    }

    /// Transforms `images` (each of shape `[C, H, W]`) in place; `indices[i]` is image `i`'s index in its data set
    /// and `epoch` the epoch, which together with the seed choose its transformation.
    ///
    /// # Errors
    /// [`Error::InvalidSetting`] if the settings do not suit the shape, or if `shape` does not describe `X` or
    /// `indices` has the wrong length.
    pub fn apply<X: Example>(
        &self,
        images: &mut [X],
        shape: [usize; 3],
        indices: &[usize],
        epoch: usize,
    ) -> Result<()> {
        let [c, h, w] = shape;
        let len = c * h * w;
        if X::FIXED_LEN != Some(len) || indices.len() != images.len() {
            return Err(Error::InvalidSetting {
                name: "augment",
                problem: format!(
                    "{} images of {} values with {} indices do not match the shape {c}×{h}×{w}",
                    images.len(),
                    X::FIXED_LEN.map_or_else(|| "any number of".to_string(), |l| l.to_string()),
                    indices.len()
                ),
            });
        }
        self.validate(shape)?;
        let mut source = vec![0.0f32; len];
        for (image, &index) in images.iter_mut().zip(indices) {
            let t = self.draw(epoch, index);
            if t.is_identity() {
                continue;
            }
            let image = image.values_mut();
            source.copy_from_slice(image);
            t.resample(&source, image, shape, self.fill);
        }
        Ok(())
    }

    /// The transformation of sample `index` in `epoch`.
    fn draw(&self, epoch: usize, index: usize) -> Transform {
        let mut rng = Rng::new(self.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15), index as u64);
        let shift = |rng: &mut Rng, reach: usize| rng.below(2 * reach + 1) as f32 - reach as f32;
        let (mut dy, mut dx) = (0.0, 0.0);
        if self.crop_padding > 0 {
            dy += shift(&mut rng, self.crop_padding);
            dx += shift(&mut rng, self.crop_padding);
        }
        if self.max_shift > 0 {
            dy += shift(&mut rng, self.max_shift);
            dx += shift(&mut rng, self.max_shift);
        }
        let flip = self.flip && rng.below(2) == 1;
        let angle =
            if self.max_rotation > 0.0 { rng.uniform(-self.max_rotation, self.max_rotation).to_radians() } else { 0.0 };
        Transform { dy, dx, flip, angle }
    }
}

/// One sample's transformation: flip, then rotate about the centre, then shift.
#[derive(Clone, Copy, Debug)]
struct Transform {
    dy: f32,
    dx: f32,
    flip: bool,
    angle: f32,
}

impl Transform {
    fn is_identity(&self) -> bool {
        self.dy == 0.0 && self.dx == 0.0 && !self.flip && self.angle == 0.0
    }

    /// Each output pixel reads the source at the inverse-mapped position: exact copies for shifts and flips,
    /// bilinear interpolation when rotated.
    fn resample(&self, source: &[f32], out: &mut [f32], [c, h, w]: [usize; 3], fill: f32) {
        let (cy, cx) = ((h as f32 - 1.0) / 2.0, (w as f32 - 1.0) / 2.0);
        let (sin, cos) = self.angle.sin_cos();
        for y in 0..h {
            for x in 0..w {
                // Undo the shift, then the rotation (by −angle), then the flip.
                let (py, px) = (y as f32 - self.dy - cy, x as f32 - self.dx - cx);
                let (ry, rx) = if self.angle == 0.0 { (py, px) } else { (cos * py - sin * px, sin * py + cos * px) };
                let (sy, mut sx) = (ry + cy, rx + cx);
                if self.flip {
                    sx = w as f32 - 1.0 - sx;
                }
                for ch in 0..c {
                    let plane = &source[ch * h * w..(ch + 1) * h * w];
                    out[ch * h * w + y * w + x] = bilinear(plane, h, w, sy, sx, fill);
                }
            }
        }
    }
}

/// The plane's value at `(y, x)`, interpolated between the four nearest pixels; `fill` outside the image.
fn bilinear(plane: &[f32], h: usize, w: usize, y: f32, x: f32, fill: f32) -> f32 {
    let (y0, x0) = (y.floor(), x.floor());
    let (fy, fx) = (y - y0, x - x0);
    let at = |yy: f32, xx: f32| -> f32 {
        if yy < 0.0 || xx < 0.0 || yy >= h as f32 || xx >= w as f32 {
            fill
        } else {
            plane[yy as usize * w + xx as usize]
        }
    };
    if fy == 0.0 && fx == 0.0 {
        return at(y0, x0);
    }
    let top = at(y0, x0) * (1.0 - fx) + at(y0, x0 + 1.0) * fx;
    let bottom = at(y0 + 1.0, x0) * (1.0 - fx) + at(y0 + 1.0, x0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}
