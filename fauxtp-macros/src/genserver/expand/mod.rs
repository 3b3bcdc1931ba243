//! The code `#[genserver]` writes: the message enum and its conversions
//! (`message.rs`), the `GenServer` impl (`server_impl.rs`), the start
//! functions and the client trait (`client.rs`), and for `remote` servers
//! the adapter for other nodes (`remote.rs`). Everything is named by
//! absolute path, and every trait impl is `#[automatically_derived]`.
//!
//! When `init` could not be read, the GenServer impl cannot be written:
//! the start functions and client functions are then stubs that are never
//! run (the crate does not compile), so that the code using them shows no
//! errors of its own.

mod client;
mod message;
mod remote;
mod server_impl;

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::{GenericParam, Ident, ItemStruct, Type};

use super::model::Server;
use super::parse::Options;

/// `#[genserver(...)]` on the state struct: the struct, and its options as
/// a hidden associated const the impl block's expansion reads.
pub(crate) fn struct_options(item: &ItemStruct, options: &Options) -> TokenStream {
    let ident = &item.ident;
    let (impl_generics, ty_generics, where_clause) = item.generics.split_for_impl();
    let options = options_value(options);
    quote! {
        #item

        impl #impl_generics #ident #ty_generics #where_clause {
            #[doc(hidden)]
            pub const __FAUXTP_STRUCT_OPTIONS: ::fauxtp::genserver::Options = #options;
        }
    }
}

pub(super) fn options_value(options: &Options) -> TokenStream {
    let name = match &options.name {
        Some(name) => quote!(::core::option::Option::Some(#name)),
        None => quote!(::core::option::Option::None),
    };
    let call_timeout = match &options.call_timeout {
        Some((_, ms)) => {
            quote!(::core::option::Option::Some(::core::time::Duration::from_millis(#ms)))
        }
        None => quote!(::core::option::Option::None),
    };
    let trace = options.trace.is_some();
    quote!(::fauxtp::genserver::Options { name: #name, call_timeout: #call_timeout, trace: #trace })
}

/// Everything for a server's impl block: its handlers' attributes removed,
/// and what they make.
pub(crate) fn server(server: &Server) -> TokenStream {
    let item = &server.item;
    let message_enum = message::message_enum(server);
    let conversions = message::conversions(server);
    let gen_server = server
        .init
        .as_ref()
        .map(|init| server_impl::gen_server_impl(server, init));
    let start = client::start_functions(server);
    let client = client::client_trait(server);
    let remote = server
        .options
        .remote
        .filter(|_| server.init.is_some())
        .map(|_| remote::remote_impl(server));
    quote! {
        #item
        #message_enum
        #conversions
        #gen_server
        #start
        #client
        #remote
    }
}

pub(super) fn msg_ident(server: &Server) -> Ident {
    format_ident!("{}Msg", server.ident)
}

pub(super) fn client_ident(server: &Server) -> Ident {
    format_ident!("{}Client", server.ident)
}

/// `CounterMsg<K>`
pub(super) fn msg_type(server: &Server) -> TokenStream {
    let msg = msg_ident(server);
    let (_, ty_generics, _) = server.generics.split_for_impl();
    quote!(#msg #ty_generics)
}

pub(super) fn self_type(server: &Server) -> &Type {
    &server.item.self_ty
}

/// The type parameters, for the never-built marker variant that uses them.
pub(super) fn type_params(server: &Server) -> Vec<&Ident> {
    server
        .generics
        .params
        .iter()
        .filter_map(|p| match p {
            GenericParam::Type(t) => Some(&t.ident),
            _ => None,
        })
        .collect()
}
