//! Reading files that may be gzip-compressed, never holding more than the format allows.

use crate::sample::Sample;
use crate::{Error, Result};
use flate2::bufread::MultiGzDecoder;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

/// The most any reader of this module takes from one file, compressed or not (4 GiB): no data set `nn` reads
/// comes near it, and a decompression bomb stops here instead of exhausting memory.
pub const MAX_FILE_BYTES: u64 = 4 << 30;

/// The bytes of `path`, decompressed if the file starts with the gzip magic number (whatever its extension).
///
/// Concatenated gzip members (what `cat a.gz b.gz` and some tools write) are read as one stream, as `gunzip`
/// does. At most [`MAX_FILE_BYTES`] are read.
///
/// # Errors
/// The file cannot be read, the gzip data is corrupt, or it holds more than [`MAX_FILE_BYTES`].
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    read_limited(&mut open_maybe_gzip(path)?, path, MAX_FILE_BYTES)
}

/// A reader of `path`'s contents, decompressing when the file starts with the gzip magic number.
pub(crate) fn open_maybe_gzip(path: &Path) -> Result<Box<dyn Read>> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, &e))?;
    let mut reader = BufReader::new(file);
    let start = reader.fill_buf().map_err(|e| Error::io(path, &e))?;
    if start.starts_with(&[0x1f, 0x8b]) {
        Ok(Box::new(MultiGzDecoder::new(reader)))
    } else {
        Ok(Box::new(reader))
    }
}

/// Up to `limit` bytes of `reader`; more is an error naming the limit, read no further than one byte past it.
pub(crate) fn read_limited(reader: &mut dyn Read, path: &Path, limit: u64) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    reader.take(limit.saturating_add(1)).read_to_end(&mut out).map_err(|e| read_error(path, &e))?;
    if out.len() as u64 > limit {
        return Err(Error::format(path, format!("more than {limit} bytes (after decompression); not a data file")));
    }
    Ok(out)
}

/// A read failure: corrupt gzip data is a format problem, anything else an I/O error.
pub(crate) fn read_error(path: &Path, e: &std::io::Error) -> Error {
    match e.kind() {
        std::io::ErrorKind::InvalidInput | std::io::ErrorKind::InvalidData | std::io::ErrorKind::UnexpectedEof => {
            Error::format(path, format!("corrupt gzip data: {e}"))
        }
        _ => Error::io(path, e),
    }
}

/// The first of `candidates` in `dir` that exists, or a not-found error naming them all.
pub(crate) fn find(dir: &Path, candidates: &[&str]) -> Result<std::path::PathBuf> {
    for name in candidates {
        let path = dir.join(name);
        if path.is_file() {
            return Ok(path);
        }
    }
    let error = std::io::Error::new(
        std::io::ErrorKind::NotFound,
        format!("none of {} found in this directory", candidates.join(", ")),
    );
    Err(Error::io(dir, &error))
}

/// Checks that samples of shape `found` (as the file stores them, e.g. `[28, 28]`) are what the network takes:
/// the same dimensions as `X` once leading 1s are dropped (`[1, 28, 28]` takes 28×28 images, not 14×56 ones),
/// or, for a flat `X` (`[784]`), the same number of values.
pub(crate) fn check_sample_shape<X: Sample>(path: &Path, found: &[usize]) -> Result<()> {
    let strip = |dims: &[usize]| -> Vec<usize> { dims.iter().copied().skip_while(|&d| d == 1).collect() };
    let (file, network) = (strip(found), strip(&X::shape()));
    let values: usize = found.iter().product();
    if file == network || (network.len() <= 1 && values == X::LEN) {
        return Ok(());
    }
    let show = |dims: &[usize]| dims.iter().map(ToString::to_string).collect::<Vec<_>>().join("×");
    Err(Error::SampleSize {
        path: path.to_path_buf(),
        found: values,
        shape: show(found),
        expected: X::LEN,
        expected_shape: show(&X::shape()),
    })
}
