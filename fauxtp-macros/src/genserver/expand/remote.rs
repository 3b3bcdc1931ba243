//! `#[genserver(remote)]`: the adapter that turns requests from other
//! nodes into the server's messages (`fauxtp::dist::RemoteServer`).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use super::message::construct;
use super::msg_ident;
use crate::genserver::model::{Handler, HandlerKind, Server};
use crate::types::is_term;

/// `#[genserver(remote)]`: how requests from other nodes become messages
/// (`fauxtp::dist::RemoteServer`). A call to handler `add(n)` is `{add, N}`,
/// to `get()` the atom `get`; casts alike; an `#[info]` handler that takes
/// a `Term` gets every other message.
pub(super) fn remote_impl(server: &Server) -> TokenStream {
    let msg = msg_ident(server);
    let request = Ident::new("__fauxtp_request", Span::mixed_site());
    let tag = Ident::new("__fauxtp_tag", Span::mixed_site());
    let args = Ident::new("__fauxtp_args", Span::mixed_site());
    let pid = Ident::new("__fauxtp_server", Span::mixed_site());
    let caller = Ident::new("__fauxtp_caller", Span::mixed_site());
    let decode = |h: &Handler| {
        let fields = h.fields();
        let names: Vec<Ident> = fields.iter().map(|(name, _)| name.clone()).collect();
        let types = fields.iter().map(|(_, ty)| ty);
        let indexes = 0..fields.len();
        let count = fields.len();
        let label = h.ident.to_string();
        let check = quote!(#tag == #label && #args.len() == #count);
        let read = quote!((#(<#types as ::fauxtp::dist::FromTerm>::from_term(&#args[#indexes]),)*));
        let pattern = quote!((#(::core::result::Result::Ok(#names),)*));
        (check, read, pattern, names)
    };
    let mut calls = Vec::new();
    let mut casts = Vec::new();
    let mut info = None;
    for h in &server.handlers {
        let variant = &h.variant;
        match &h.kind {
            HandlerKind::Call { reply, .. } => {
                let (reply_name, reply_ty) = reply.field_and_type();
                let (check, read, pattern, _) = decode(h);
                let build = construct(&quote!(#msg), h);
                calls.push(quote! {
                    if #check {
                        #[allow(irrefutable_let_patterns)]
                        if let #pattern = #read {
                            let #reply_name = #caller.reply_to::<#reply_ty>();
                            // A server that has just ended drops the call; the
                            // caller's monitor says why.
                            let _ = #pid.send(#build);
                            return ::core::result::Result::Ok(());
                        }
                    }
                });
            }
            HandlerKind::Cast { .. } => {
                // The arguments are moved out of the request.
                let fields = h.fields();
                let names: Vec<Ident> = fields.iter().map(|(name, _)| name.clone()).collect();
                let types = fields.iter().map(|(_, ty)| ty);
                let count = fields.len();
                let label = h.ident.to_string();
                let terms: Vec<Ident> = (0..count)
                    .map(|i| Ident::new(&format!("__fauxtp_arg{i}"), Span::mixed_site()))
                    .collect();
                let build = construct(&quote!(#msg), h);
                casts.push(quote! {
                    if #request.handler() == #label && #request.arity() == #count {
                        if let ::core::result::Result::Ok([#(#terms,)*]) =
                            #request.into_args::<#count>()
                        {
                            #[allow(irrefutable_let_patterns)]
                            if let (#(::core::result::Result::Ok(#names),)*) =
                                (#(<#types as ::fauxtp::dist::FromTerm>::from_term_owned(#terms),)*)
                            {
                                return ::core::result::Result::Ok(#build);
                            }
                        }
                        return ::core::result::Result::Err(::fauxtp::dist::term::atom(#label));
                    }
                });
            }
            HandlerKind::Info { field, .. } if is_term(&field.1) => {
                info = Some(quote! {
                    fn remote_info(
                        message: ::fauxtp::dist::term::Term,
                    ) -> ::core::result::Result<Self, ::fauxtp::dist::term::Term> {
                        ::core::result::Result::Ok(#msg::#variant(message))
                    }
                });
            }
            HandlerKind::Info { .. } | HandlerKind::TaskEnd { .. } => {}
        }
    }
    quote! {
        #[automatically_derived]
        impl ::fauxtp::dist::RemoteServer for #msg {
            #[allow(unused_variables)]
            fn remote_call(
                #pid: &::fauxtp::Pid<Self>,
                #request: &::fauxtp::dist::term::Term,
                #caller: ::fauxtp::dist::RemoteCaller,
            ) -> ::core::result::Result<(), ::fauxtp::dist::RemoteCaller> {
                let ::core::option::Option::Some((#tag, #args)) =
                    ::fauxtp::dist::__private::request_parts(#request)
                else {
                    return ::core::result::Result::Err(#caller);
                };
                #(#calls)*
                ::core::result::Result::Err(#caller)
            }

            fn remote_cast(
                #request: ::fauxtp::dist::term::Term,
            ) -> ::core::result::Result<Self, ::fauxtp::dist::term::Term> {
                <Self as ::fauxtp::dist::RemoteServer>::remote_cast_parts(
                    ::fauxtp::dist::__private::CastRequest::from_term(#request)?,
                )
            }

            // The arguments are moved out of the request.
            #[allow(unused_variables)]
            fn remote_cast_parts(
                #request: ::fauxtp::dist::__private::CastRequest,
            ) -> ::core::result::Result<Self, ::fauxtp::dist::term::Term> {
                #(#casts)*
                ::core::result::Result::Err(#request.into_term())
            }

            #info
        }
    }
}
