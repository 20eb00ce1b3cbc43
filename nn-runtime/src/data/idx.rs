//! The IDX format of MNIST and Fashion-MNIST: a big-endian header (magic, dimensions) and raw unsigned bytes.

use super::dataset::Dataset;
use super::file::{check_sample_shape, find, open_maybe_gzip, read_error, MAX_FILE_BYTES};
use crate::sample::Sample;
use crate::{Error, Result};
use std::io::Read;
use std::path::Path;

/// Magic number of an IDX file of unsigned bytes with three dimensions (images).
const IMAGES_MAGIC: u32 = 0x0000_0803;
/// Magic number of an IDX file of unsigned bytes with one dimension (labels).
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Fashion-MNIST's class names, by label.
pub const FASHION_MNIST_CLASSES: [&str; 10] =
    ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

/// The images of an IDX file: `count` images of `rows × cols` bytes, row-major.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdxImages {
    /// Number of images.
    pub count: usize,
    /// Rows per image.
    pub rows: usize,
    /// Columns per image.
    pub cols: usize,
    /// `count × rows × cols` pixel bytes.
    pub pixels: Vec<u8>,
}

fn header(bytes: &[u8], path: &Path, magic: u32, dims: usize) -> Result<Vec<usize>> {
    let need = 4 + 4 * dims;
    if bytes.len() < need {
        return Err(Error::format(
            path,
            format!("truncated header: {} bytes, an IDX header here has {need}", bytes.len()),
        ));
    }
    let word = |i: usize| u32::from_be_bytes([bytes[4 * i], bytes[4 * i + 1], bytes[4 * i + 2], bytes[4 * i + 3]]);
    let found = word(0);
    if found != magic {
        let what = if magic == IMAGES_MAGIC { "images" } else { "labels" };
        return Err(Error::format(
            path,
            format!("wrong magic number 0x{found:08x}; IDX {what} files start with 0x{magic:08x}"),
        ));
    }
    Ok((1..=dims).map(|i| word(i) as usize).collect())
}

fn check_length(bytes: &[u8], path: &Path, header: usize, expected: usize, what: &str) -> Result<()> {
    let found = bytes.len() - header;
    if found < expected {
        Err(Error::format(
            path,
            format!("truncated: the header announces {what} ({expected} bytes), the file has {found}"),
        ))
    } else if found > expected {
        Err(Error::format(path, format!("{} bytes after the {what} the header announces", found - expected)))
    } else {
        Ok(())
    }
}

/// Parses IDX image bytes (`path` only names the source in errors).
pub fn parse_idx_images(bytes: &[u8], path: &Path) -> Result<IdxImages> {
    let dims = header(bytes, path, IMAGES_MAGIC, 3)?;
    let (count, rows, cols) = (dims[0], dims[1], dims[2]);
    let size = count.checked_mul(rows).and_then(|v| v.checked_mul(cols));
    let size = size.ok_or_else(|| Error::format(path, format!("impossible dimensions {count}×{rows}×{cols}")))?;
    check_length(bytes, path, 16, size, &format!("{count} images of {rows}×{cols}"))?;
    Ok(IdxImages { count, rows, cols, pixels: bytes[16..].to_vec() })
}

/// Parses IDX label bytes.
pub fn parse_idx_labels(bytes: &[u8], path: &Path) -> Result<Vec<u8>> {
    let count = header(bytes, path, LABELS_MAGIC, 1)?[0];
    check_length(bytes, path, 8, count, &format!("{count} labels"))?;
    Ok(bytes[8..].to_vec())
}

/// Reads an IDX image file, raw or gzip-compressed (concatenated gzip members too). No more is read or
/// decompressed than the header announces.
pub fn read_idx_images(path: &Path) -> Result<IdxImages> {
    read_images(path, |_, _| Ok(()))
}

/// [`read_idx_images`], with `check(rows, cols)` run on the header before any pixel is read.
fn read_images(path: &Path, check: impl FnOnce(usize, usize) -> Result<()>) -> Result<IdxImages> {
    let (dims, pixels) = read_idx(path, IMAGES_MAGIC, 3, |dims| {
        let [count, rows, cols] = [dims[0], dims[1], dims[2]];
        check(rows, cols)?;
        Ok(format!("{count} images of {rows}×{cols}"))
    })?;
    Ok(IdxImages { count: dims[0], rows: dims[1], cols: dims[2], pixels })
}

/// Reads an IDX label file, raw or gzip-compressed.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    read_idx(path, LABELS_MAGIC, 1, |dims| Ok(format!("{} labels", dims[0]))).map(|(_, labels)| labels)
}

/// Reads the header of an IDX file of `dims` dimensions, lets `describe` check the dimensions and say what
/// they announce, then reads exactly the announced bytes: a decompressed stream longer than announced is
/// counted, not held in memory.
fn read_idx(
    path: &Path,
    magic: u32,
    dims: usize,
    describe: impl FnOnce(&[usize]) -> Result<String>,
) -> Result<(Vec<usize>, Vec<u8>)> {
    let mut reader = open_maybe_gzip(path)?;
    let mut head = Vec::new();
    (&mut reader).take(4 + 4 * dims as u64).read_to_end(&mut head).map_err(|e| read_error(path, &e))?;
    let sizes = header(&head, path, magic, dims)?;
    let what = describe(&sizes)?;
    let size = sizes.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d)).filter(|&s| s as u64 <= MAX_FILE_BYTES);
    let size = size.ok_or_else(|| Error::format(path, format!("impossible dimensions: {what}")))?;
    let mut data = Vec::new();
    (&mut reader).take(size as u64).read_to_end(&mut data).map_err(|e| read_error(path, &e))?;
    if data.len() < size {
        return Err(Error::format(
            path,
            format!("truncated: the header announces {what} ({size} bytes), the file has {}", data.len()),
        ));
    }
    let extra =
        std::io::copy(&mut reader.take(MAX_FILE_BYTES), &mut std::io::sink()).map_err(|e| read_error(path, &e))?;
    if extra > 0 {
        return Err(Error::format(path, format!("{extra} bytes after the {what} the header announces")));
    }
    Ok((sizes, data))
}

/// Loads an image file and its label file as a data set of `X` (pixels scaled to `[0, 1]`).
///
/// # Errors
/// A malformed file, image and label counts that differ, a label not below `classes`, or images whose shape is
/// not `X`'s (e.g. 28×28 images for a network taking 32×32, or 14×56 images for one taking 1×28×28 — a flat `X`
/// such as `[f32; 784]` takes any image of 784 pixels). The shape is checked from the header, before the pixels
/// are read.
pub fn load_idx<X: Sample>(images: &Path, labels: &Path, classes: usize) -> Result<Dataset<X, usize>> {
    let img = read_images(images, |rows, cols| check_sample_shape::<X>(images, &[rows, cols]))?;
    let lab = read_idx_labels(labels)?;
    if img.count != lab.len() {
        return Err(Error::format(
            labels,
            format!("{} labels for the {} images of {}", lab.len(), img.count, images.display()),
        ));
    }
    if let Some((index, &label)) = lab.iter().enumerate().find(|(_, &l)| usize::from(l) >= classes) {
        return Err(Error::format(labels, format!("label {label} of sample {index} is not below {classes} classes")));
    }
    let mut inputs = vec![X::zeroed(); img.count];
    for (v, &p) in X::flat_mut(&mut inputs).iter_mut().zip(&img.pixels) {
        *v = f32::from(p) / 255.0;
    }
    Dataset::new(inputs, lab.into_iter().map(usize::from).collect())
}

/// Loads MNIST or Fashion-MNIST from `dir` (the four standard files, raw or `.gz`): `(train, test)`.
pub fn load_mnist<X: Sample>(dir: &Path) -> Result<(Dataset<X, usize>, Dataset<X, usize>)> {
    let pair = |prefix: &str| -> Result<Dataset<X, usize>> {
        let images = find(dir, &[&format!("{prefix}-images-idx3-ubyte"), &format!("{prefix}-images-idx3-ubyte.gz")])?;
        let labels = find(dir, &[&format!("{prefix}-labels-idx1-ubyte"), &format!("{prefix}-labels-idx1-ubyte.gz")])?;
        load_idx(&images, &labels, 10)
    };
    Ok((pair("train")?, pair("t10k")?))
}
