//! scikit-learn's 8×8 digits (UCI optdigits): CSV rows of 64 pixel counts 0–16, then the class 0–9.

use super::dataset::Dataset;
use super::file::{check_sample_shape, read_maybe_gzip};
use crate::sample::Sample;
use crate::{Error, Result};
use std::path::Path;

/// Parses the digits CSV (`path` only names the source in errors); pixels are scaled to `[0, 1]` (divided by 16).
pub fn parse_digits<X: Sample>(bytes: &[u8], path: &Path) -> Result<Dataset<X, usize>> {
    check_sample_shape::<X>(path, &[8, 8])?;
    let text = std::str::from_utf8(bytes).map_err(|e| Error::format(path, format!("not text: {e}")))?;
    let mut inputs = Vec::new();
    let mut targets = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let at = |msg: String| Error::format(path, format!("line {}: {msg}", i + 1));
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        if fields.len() != 65 {
            return Err(at(format!("{} fields, expected 64 pixels and a class", fields.len())));
        }
        let mut values = [0u8; 65];
        for (v, f) in values.iter_mut().zip(&fields) {
            *v = f.parse().map_err(|_| at(format!("`{f}` is not a whole number")))?;
        }
        if let Some(p) = values[..64].iter().find(|&&p| p > 16) {
            return Err(at(format!("pixel value {p} is outside 0..=16")));
        }
        if values[64] > 9 {
            return Err(at(format!("class {} is outside 0..=9", values[64])));
        }
        let mut x = X::zeroed();
        for (v, &p) in X::flat_mut(std::slice::from_mut(&mut x)).iter_mut().zip(&values[..64]) {
            *v = f32::from(p) / 16.0;
        }
        inputs.push(x);
        targets.push(usize::from(values[64]));
    }
    Dataset::new(inputs, targets)
}

/// Reads the digits CSV (raw or gzip-compressed, e.g. scikit-learn's `digits.csv.gz`).
pub fn load_digits<X: Sample>(path: &Path) -> Result<Dataset<X, usize>> {
    parse_digits(&read_maybe_gzip(path)?, path)
}
