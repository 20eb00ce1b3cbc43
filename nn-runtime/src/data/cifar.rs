//! The CIFAR-10 binary format: records of one label byte and 3×32×32 pixel bytes (all red, then green, then blue,
//! each plane row-major) — the `[[[f32; 32]; 32]; 3]` layout of a `network!` input.

use super::dataset::Dataset;
use super::file::{check_sample_shape, find, read_maybe_gzip};
use crate::sample::Sample;
use crate::{Error, Result};
use std::path::Path;

const PIXELS: usize = 3 * 32 * 32;
const RECORD: usize = 1 + PIXELS;

/// CIFAR-10's class names, by label.
pub const CIFAR10_CLASSES: [&str; 10] =
    ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/// Parses the bytes of one CIFAR-10 batch file (`path` only names the source in errors).
pub fn parse_cifar10<X: Sample>(bytes: &[u8], path: &Path) -> Result<Dataset<X, usize>> {
    check_sample_shape::<X>(path, &[3, 32, 32])?;
    if !bytes.len().is_multiple_of(RECORD) {
        return Err(Error::format(
            path,
            format!(
                "truncated: {} bytes is not a whole number of {RECORD}-byte records ({} records and {} bytes over)",
                bytes.len(),
                bytes.len() / RECORD,
                bytes.len() % RECORD
            ),
        ));
    }
    let count = bytes.len() / RECORD;
    let mut inputs = vec![X::zeroed(); count];
    let mut targets = Vec::with_capacity(count);
    for (index, (record, x)) in
        bytes.chunks_exact(RECORD).zip(X::flat_mut(&mut inputs).chunks_exact_mut(PIXELS)).enumerate()
    {
        let label = usize::from(record[0]);
        if label >= 10 {
            return Err(Error::format(path, format!("label {label} of record {index} is not below 10 classes")));
        }
        targets.push(label);
        for (v, &p) in x.iter_mut().zip(&record[1..]) {
            *v = f32::from(p) / 255.0;
        }
    }
    Dataset::new(inputs, targets)
}

/// Reads one CIFAR-10 batch file (raw or gzip-compressed).
pub fn load_cifar10_batch<X: Sample>(path: &Path) -> Result<Dataset<X, usize>> {
    parse_cifar10(&read_maybe_gzip(path)?, path)
}

/// Loads CIFAR-10 from `dir`: `data_batch_1.bin` … `data_batch_5.bin` as the training set (those present, at least
/// one) and `test_batch.bin` as the test set.
pub fn load_cifar10<X: Sample>(dir: &Path) -> Result<(Dataset<X, usize>, Dataset<X, usize>)> {
    let mut train = Dataset { inputs: Vec::new(), targets: Vec::new() };
    let mut found = 0;
    for i in 1..=5 {
        let path = dir.join(format!("data_batch_{i}.bin"));
        if path.is_file() {
            let batch = load_cifar10_batch::<X>(&path)?;
            train.inputs.extend(batch.inputs);
            train.targets.extend(batch.targets);
            found += 1;
        }
    }
    if found == 0 {
        find(dir, &["data_batch_1.bin"])?;
    }
    let test = load_cifar10_batch(&find(dir, &["test_batch.bin"])?)?;
    Ok((train, test))
}
