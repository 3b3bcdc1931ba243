//! Collects every error of a macro input instead of stopping at the first,
//! so a user sees all their mistakes in one compile (as serde_derive does).
//! One collector goes through every stage of a macro (parse, model,
//! checks); the errors are written out once, beside whatever the macro
//! could still generate.

use proc_macro2::{Span, TokenStream};

#[derive(Default)]
pub(crate) struct Errors {
    all: Option<syn::Error>,
    count: usize,
}

impl Errors {
    pub(crate) fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.add(syn::Error::new(span, message));
    }

    pub(crate) fn add(&mut self, error: syn::Error) {
        self.count += 1;
        match &mut self.all {
            Some(all) => all.combine(error),
            None => self.all = Some(error),
        }
    }

    /// How many errors so far: a stage compares it before and after a part
    /// of the input, to leave out a part that had a mistake.
    pub(crate) fn count(&self) -> usize {
        self.count
    }

    /// `output`, followed by a `compile_error!` per error.
    pub(crate) fn with(self, mut output: TokenStream) -> TokenStream {
        if let Some(error) = self.all {
            output.extend(error.into_compile_error());
        }
        output
    }

    pub(crate) fn finish(self) -> syn::Result<()> {
        self.all.map_or(Ok(()), Err)
    }
}
