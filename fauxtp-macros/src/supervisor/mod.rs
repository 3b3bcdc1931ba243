//! `supervisor!`: a supervision tree declared as data (strategy, intensity,
//! children), expanded into a type with start functions and a child spec.

mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: parse::Input = syn::parse2(input)?;
    let tree = model::Tree::from_input(input)?;
    Ok(expand::expand(&tree))
}
