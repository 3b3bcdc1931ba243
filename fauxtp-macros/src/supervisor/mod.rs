//! `supervisor!`: a supervision tree declared as data (strategy, intensity,
//! children), expanded into a type with start functions and a child spec.
//!
//! Every mistake is reported in one compile, and the tree's type is written
//! even then (with defaults, or as stubs when the input does not parse), so
//! that code using it shows no errors of its own.

mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

use crate::errors::Errors;

pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let output = match syn::parse2::<parse::Input>(input.clone()) {
        Ok(input) => {
            let tree = model::Tree::from_input(input, &mut errors);
            expand::expand(&tree)
        }
        Err(error) => {
            errors.add(error);
            parse::head(input)
                .map(|(attrs, vis, name, args)| expand::stub(&attrs, &vis, &name, &args))
                .unwrap_or_default()
        }
    };
    errors.with(output)
}
