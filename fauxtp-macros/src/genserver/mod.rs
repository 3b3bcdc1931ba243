//! `#[genserver]`: on an impl block, a GenServer (message enum, dispatch,
//! start functions, client trait); on a struct, the server's options.

mod expand;
mod model;
mod parse;

use proc_macro2::TokenStream;

pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> syn::Result<TokenStream> {
    match parse::item(attr, item)? {
        parse::Target::Struct(item, options) => Ok(expand::struct_options(&item, &options)),
        parse::Target::Impl(item, options) => {
            let server = model::Server::from_impl(item, options)?;
            Ok(expand::server(&server))
        }
    }
}
