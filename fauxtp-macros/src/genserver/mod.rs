//! `#[genserver]`: on an impl block, a GenServer (message enum, dispatch,
//! start functions, client trait); on a struct, the server's options.
//!
//! parse (what it is on, its options) -> model (`init`, handlers, checks)
//! -> expand. One error collector goes through every stage, so that every
//! mistake shows in one compile; and the output always holds the user's
//! item and as much of the generated code as is right (stubs where it
//! cannot be), so that a user sees the real errors and no others.

mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;
use quote::ToTokens;

use crate::errors::Errors;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut errors = Errors::default();
    let output = match parse::item(attr, item, &mut errors) {
        Ok(parse::Target::Struct(item, options)) => expand::struct_options(&item, &options),
        Ok(parse::Target::Impl(item, options)) => {
            match model::Server::from_impl(item, options, &mut errors) {
                Ok(server) => expand::server(&server),
                // Nothing, or the block as it was.
                Err(item) => item.into_token_stream(),
            }
        }
        Ok(parse::Target::Other(item)) => item.into_token_stream(),
        Err(error) => {
            errors.add(error);
            TokenStream::new()
        }
    };
    errors.with(output)
}
