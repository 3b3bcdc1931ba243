//! The procedural macros of fauxtp. Use them through the `fauxtp` crate,
//! which re-exports them with their documentation.

mod duration;
mod errors;
mod genserver;
mod handler_args;
mod names;
mod pattern;
mod receive;
mod statem;
mod supervisor;
mod term;
mod testing;
mod types;

use proc_macro::TokenStream;

/// Selective receive; documented on `fauxtp::receive`.
#[proc_macro]
pub fn receive(input: TokenStream) -> TokenStream {
    receive::expand(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// GenServers from an annotated impl block, or server options on a struct;
/// documented on `fauxtp::genserver`.
#[proc_macro_attribute]
pub fn genserver(attr: TokenStream, item: TokenStream) -> TokenStream {
    genserver::expand(attr.into(), item.into()).into()
}

/// State machines (OTP's gen_statem) from an annotated impl block;
/// documented on `fauxtp::statem`.
#[proc_macro_attribute]
pub fn statem(attr: TokenStream, item: TokenStream) -> TokenStream {
    statem::expand(attr.into(), item.into()).into()
}

/// Supervision trees declared as data; documented on `fauxtp::supervisor!`.
#[proc_macro]
pub fn supervisor(input: TokenStream) -> TokenStream {
    supervisor::expand(input.into()).into()
}

/// A receive that must match within a bound; documented on
/// `fauxtp::assert_receives!`.
#[proc_macro]
pub fn assert_receives(input: TokenStream) -> TokenStream {
    testing::assert_receives(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Erlang terms from Rust values; documented on `fauxtp::dist::ToTerm`.
#[proc_macro_derive(ToTerm)]
pub fn derive_to_term(input: TokenStream) -> TokenStream {
    term::to_term(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}

/// Rust values from Erlang terms; documented on `fauxtp::dist::FromTerm`.
#[proc_macro_derive(FromTerm)]
pub fn derive_from_term(input: TokenStream) -> TokenStream {
    term::from_term(input.into())
        .unwrap_or_else(syn::Error::into_compile_error)
        .into()
}
