//! Collects every error of a check, so the user sees all mistakes at once (as serde_derive's `Ctxt`).

/// A list of errors found so far.
#[derive(Default)]
pub struct Ctxt {
    errors: Vec<syn::Error>,
}

impl Ctxt {
    /// Records an error and goes on checking.
    pub fn push(&mut self, error: syn::Error) {
        self.errors.push(error);
    }

    /// All errors as one (each keeps its own span), or `None`.
    pub fn into_error(self) -> Option<syn::Error> {
        self.errors.into_iter().reduce(|mut all, e| {
            all.combine(e);
            all
        })
    }
}
