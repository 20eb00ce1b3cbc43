//! Reading files that may be gzip-compressed.

use crate::{Error, Result};
use flate2::read::GzDecoder;
use std::io::Read;
use std::path::Path;

/// The bytes of `path`, decompressed if the file starts with the gzip magic number (whatever its extension).
pub fn read_maybe_gzip(path: &Path) -> Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| Error::io(path, &e))?;
    if raw.starts_with(&[0x1f, 0x8b]) {
        let mut out = Vec::new();
        GzDecoder::new(&raw[..])
            .read_to_end(&mut out)
            .map_err(|e| Error::format(path, format!("corrupt gzip data: {e}")))?;
        Ok(out)
    } else {
        Ok(raw)
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
