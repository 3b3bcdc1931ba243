//! `receive!`: parse the arms, check them into a small model, expand into a
//! loop over the mailbox followed by the arm that matched.

mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn expand(input: TokenStream) -> syn::Result<TokenStream> {
    let input: parse::Input = syn::parse2(input)?;
    let model = model::Receive::from_input(input)?;
    Ok(expand::expand(&model))
}
