//! What users call: the start functions on the server type, and the client
//! trait on its pid (a typed function per `#[call]` and `#[cast]`).

use proc_macro2::TokenStream;
use quote::quote;

use super::message::construct;
use super::{client_ident, msg_ident, msg_type, self_type};
use crate::genserver::model::{HandlerKind, Server};

pub(super) fn start_functions(server: &Server) -> TokenStream {
    let self_ty = self_type(server);
    let msg = msg_type(server);
    let (impl_generics, _, where_clause) = server.generics.split_for_impl();
    let name = server.ident.to_string();
    let result = quote!(::core::result::Result<::fauxtp::Pid<#msg>, ::fauxtp::StartError>);
    let default_name = quote!(<Self as ::fauxtp::GenServer>::OPTIONS.name);
    // Without `init` there is no `GenServer` impl: stubs (see the module).
    let (args, start, start_link, start_named, start_via) = match server.init {
        Some(_) => (
            quote!(<Self as ::fauxtp::GenServer>::Args),
            quote!(::fauxtp::__private::start_server::<Self>(args, #default_name, ::core::option::Option::None).await),
            quote! {
                let parent = ::fauxtp::ProcessContext::self_pid(ctx);
                ::fauxtp::__private::start_server::<Self>(args, #default_name, ::core::option::Option::Some(parent)).await
            },
            quote!(
                ::fauxtp::__private::start_server::<Self>(
                    args,
                    ::core::option::Option::Some(name),
                    ::core::option::Option::None
                )
                .await
            ),
            quote!(::fauxtp::__private::start_server_via::<Self>(args, via).await),
        ),
        None => {
            let stub = quote!(::core::unreachable!("#[genserver] reported an error"));
            (
                quote!(impl ::core::marker::Send),
                stub.clone(),
                stub.clone(),
                stub.clone(),
                stub,
            )
        }
    };
    let doc_start = format!(
        "Starts a [`{name}`] server and returns once its `init` has succeeded.\n\n\
         If the server has a `name` option, it is registered under that name. \
         An error or a panic in `init` is returned as `StartError::Init`; nothing is left running."
    );
    let doc_link = format!(
        "Starts a [`{name}`] server linked to the calling process (see `start`).\n\n\
         If `init` fails, the error is returned and the caller receives no exit signal."
    );
    let doc_named = format!(
        "Starts a [`{name}`] server registered as `name` (see `start`); the name is freed when it ends. \
         A taken name is returned as `StartError::Name` and nothing is started."
    );
    let doc_via = format!(
        "Starts a [`{name}`] server registered under a key of a keyed registry \
         (`registry.via(key, value)`, Elixir's `{{:via, Registry, ...}}`); the entry goes when it ends. \
         A taken key is returned as `StartError::Via` and nothing is started."
    );
    quote! {
        impl #impl_generics #self_ty #where_clause {
            #[doc = #doc_start]
            #[allow(unused_variables)]
            pub async fn start(args: #args) -> #result {
                #start
            }

            #[doc = #doc_link]
            #[allow(unused_variables)]
            pub async fn start_link(ctx: &impl ::fauxtp::ProcessContext, args: #args) -> #result {
                #start_link
            }

            #[doc = #doc_named]
            #[allow(unused_variables)]
            pub async fn start_named(name: &str, args: #args) -> #result {
                #start_named
            }

            #[doc = #doc_via]
            #[allow(unused_variables)]
            pub async fn start_via(via: ::fauxtp::registry::Via, args: #args) -> #result {
                #start_via
            }
        }
    }
}

pub(super) fn client_trait(server: &Server) -> TokenStream {
    let client = client_ident(server);
    let msg = msg_type(server);
    let msg_ident = msg_ident(server);
    let msg_ident = quote!(#msg_ident);
    let self_ty = self_type(server);
    let name = server.ident.to_string();
    let (impl_generics, ty_generics, where_clause) = server.generics.split_for_impl();
    let stub = server
        .init
        .is_none()
        .then(|| quote!(::core::unreachable!("#[genserver] reported an error")));
    let mut declarations = Vec::new();
    let mut definitions = Vec::new();
    for h in &server.handlers {
        let ident = &h.ident;
        let params = h.fields().iter().map(|(name, ty)| quote!(#name: #ty));
        let build = construct(&msg_ident, h);
        let (signature, body) = match &h.kind {
            HandlerKind::Call { reply, .. } => {
                let (reply_name, reply_ty) = reply.field_and_type();
                let label = format!("{name}::{ident}");
                let doc = format!("Calls [`{name}::{ident}`] and waits for its reply (see `Call` for the timeout).");
                (
                    quote!(#[doc = #doc] fn #ident(&self, #(#params),*) -> ::fauxtp::Call<#msg, #reply_ty>),
                    quote! {
                        ::fauxtp::Call::new(self, #label, |#reply_name| #build)
                            .timeout(<#self_ty as ::fauxtp::GenServer>::OPTIONS.call_timeout())
                    },
                )
            }
            HandlerKind::Cast { .. } => {
                let doc =
                    format!("Casts [`{name}::{ident}`]: sends the message and returns at once.");
                (
                    quote! {
                        #[doc = #doc]
                        fn #ident(&self, #(#params),*) -> ::core::result::Result<(), ::fauxtp::SendError<#msg>>
                    },
                    quote!(self.send(#build)),
                )
            }
            HandlerKind::Info { .. } | HandlerKind::TaskEnd { .. } => continue,
        };
        let body = stub.clone().unwrap_or(body);
        declarations.push(quote!(#signature;));
        definitions.push(quote!(#[allow(unused_variables)] #signature { #body }));
    }
    let doc = format!(
        "The client functions of [`{name}`], one per `#[call]` and `#[cast]` handler, on its pid \
         (written by `#[genserver]`). Bring the trait into scope to use them: `use path::to::{client};`."
    );
    quote! {
        #[doc = #doc]
        #[allow(private_interfaces, private_bounds)]
        pub trait #client #impl_generics #where_clause {
            #(#declarations)*
        }

        #[automatically_derived]
        impl #impl_generics #client #ty_generics for ::fauxtp::Pid<#msg> #where_clause {
            #(#definitions)*
        }
    }
}
