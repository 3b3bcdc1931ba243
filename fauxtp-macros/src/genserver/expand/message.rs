//! The message enum (one variant per handler), its `Debug`, and the `From`
//! conversions of `#[info]` payloads and `#[task_end]` results into it.

use proc_macro2::TokenStream;
use quote::quote;

use super::{msg_ident, msg_type, type_params};
use crate::genserver::model::{Handler, HandlerKind, Server};

pub(super) fn message_enum(server: &Server) -> TokenStream {
    let msg = msg_ident(server);
    let name = server.ident.to_string();
    let (impl_generics, ty_generics, where_clause) = server.generics.split_for_impl();
    let variants = server.handlers.iter().map(|h| {
        let variant = &h.variant;
        let (what, reply) = match h.kind {
            HandlerKind::Call { .. } => (
                "A call",
                "; `reply` (or the handler's `ReplyTo` argument) takes the answer",
            ),
            HandlerKind::Cast { .. } => ("A cast", ""),
            HandlerKind::Info { .. } => ("The message", ""),
            HandlerKind::TaskEnd { .. } => ("The result of a background task, for", ""),
        };
        let doc = format!("{what} of [`{name}::{}`]{reply}.", h.ident);
        let body = variant_fields(h);
        quote!(#[doc = #doc] #variant #body)
    });
    let params = type_params(server);
    let marker = (!params.is_empty()).then(|| {
        quote! {
            #[doc(hidden)]
            __Marker(::core::marker::PhantomData<fn() -> (#(#params,)*)>, ::core::convert::Infallible),
        }
    });
    let doc = format!(
        "The messages of the [`{name}`] GenServer, one variant per handler (written by `#[genserver]`).\n\n\
         Send them with the generated [`{name}Client`] functions, or build them by hand and \
         use `Pid::send` (casts, info messages) or `fauxtp::Call::new` (calls)."
    );
    // Mixed-site: a payload named `f` does not shadow it.
    let f = syn::Ident::new("f", proc_macro2::Span::mixed_site());
    let debug_arms = server.handlers.iter().map(|h| debug_arm(h, &msg, &f));
    let debug_marker = marker
        .as_ref()
        .map(|_| quote!(Self::__Marker(_, ref never) => match *never {},));
    quote! {
        #[doc = #doc]
        // `pub` so that a public server's messages are public; a private
        // server's may mention private types, which is fine.
        #[allow(private_interfaces, private_bounds)]
        pub enum #msg #impl_generics #where_clause {
            #(#variants,)*
            #marker
        }

        /// Shows the variant and its payloads (`CounterMsg::Add { n: 2, .. }`,
        /// a call's reply left out); a payload whose type is not `Debug`
        /// shows as `_`. Matches on the place, so that a server without
        /// handlers (an empty enum) needs no arm.
        #[automatically_derived]
        impl #impl_generics ::core::fmt::Debug for #msg #ty_generics #where_clause {
            fn fmt(&self, #f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                #[allow(unused_imports)]
                use ::fauxtp::__private::{DebugText as _, NoDebugText as _};
                match *self {
                    #(#debug_arms)*
                    #debug_marker
                }
            }
        }
    }
}

/// One variant's `Debug`: `CounterMsg::Add { n: 2, .. }`, `CounterMsg::Tick(Tick)`
/// or `CounterMsg::Reset`.
fn debug_arm(h: &Handler, msg: &syn::Ident, f: &syn::Ident) -> TokenStream {
    let variant = &h.variant;
    let text = format!("{msg}::{variant}");
    let show = |name: &syn::Ident| quote!((&::fauxtp::__private::DebugRef(#name)).__as_debug());
    match &h.kind {
        HandlerKind::Info { .. } | HandlerKind::TaskEnd { .. } => {
            let value = syn::Ident::new("value", proc_macro2::Span::mixed_site());
            let shown = show(&value);
            quote!(Self::#variant(ref #value) => #f.debug_tuple(#text).field(#shown).finish(),)
        }
        HandlerKind::Cast { fields, .. } if fields.is_empty() => {
            quote!(Self::#variant { .. } => #f.write_str(#text),)
        }
        HandlerKind::Call { fields, .. } | HandlerKind::Cast { fields, .. } => {
            let names: Vec<_> = fields.iter().map(|(name, _)| name).collect();
            let labels = names.iter().map(|name| name.to_string());
            let shown = names.iter().map(|name| show(name));
            let finish = match h.kind {
                HandlerKind::Call { .. } => quote!(finish_non_exhaustive),
                _ => quote!(finish),
            };
            quote! {
                Self::#variant { #(ref #names,)* .. } => #f
                    .debug_struct(#text)
                    #(.field(#labels, #shown))*
                    .#finish(),
            }
        }
    }
}

/// `{ n: u64, reply: ReplyTo<u64> }`, `(Tick)` or nothing.
fn variant_fields(h: &Handler) -> TokenStream {
    match &h.kind {
        HandlerKind::Info { field, .. } | HandlerKind::TaskEnd { field, .. } => {
            let ty = &field.1;
            quote!((#ty))
        }
        HandlerKind::Call { fields, reply } => {
            let fields = fields.iter().map(|(name, ty)| quote!(#name: #ty));
            let (reply, ty) = reply.field_and_type();
            quote!({ #(#fields,)* #reply: ::fauxtp::ReplyTo<#ty> })
        }
        HandlerKind::Cast { fields, .. } if fields.is_empty() => quote!(),
        HandlerKind::Cast { fields, .. } => {
            let fields = fields.iter().map(|(name, ty)| quote!(#name: #ty));
            quote!({ #(#fields,)* })
        }
    }
}

/// How a handler's message is built from its fields' values, bound to
/// their names (a call's reply included).
pub(super) fn construct(msg: &TokenStream, h: &Handler) -> TokenStream {
    let variant = &h.variant;
    let names = h.fields().iter().map(|(name, _)| name);
    match &h.kind {
        HandlerKind::Call { reply, .. } => {
            let (reply, _) = reply.field_and_type();
            quote!(#msg::#variant { #(#names,)* #reply })
        }
        HandlerKind::Cast { fields, .. } if fields.is_empty() => quote!(#msg::#variant),
        HandlerKind::Cast { .. } => quote!(#msg::#variant { #(#names,)* }),
        HandlerKind::Info { .. } | HandlerKind::TaskEnd { .. } => {
            quote!(#msg::#variant(#(#names)*))
        }
    }
}

pub(super) fn conversions(server: &Server) -> TokenStream {
    let msg = msg_type(server);
    let (impl_generics, _, where_clause) = server.generics.split_for_impl();
    let impls = server.handlers.iter().filter_map(|h| {
        let variant = &h.variant;
        match &h.kind {
            HandlerKind::Info { field, .. } => {
                let ty = &field.1;
                Some(quote! {
                    #[automatically_derived]
                    impl #impl_generics ::core::convert::From<#ty> for #msg #where_clause {
                        fn from(message: #ty) -> Self {
                            Self::#variant(message)
                        }
                    }
                })
            }
            HandlerKind::TaskEnd { output, .. } => Some(quote! {
                #[automatically_derived]
                impl #impl_generics ::core::convert::From<::fauxtp::TaskDone<#output>> for #msg #where_clause {
                    fn from(done: ::fauxtp::TaskDone<#output>) -> Self {
                        Self::#variant(done.0)
                    }
                }
            }),
            HandlerKind::Call { .. } | HandlerKind::Cast { .. } => None,
        }
    });
    quote!(#(#impls)*)
}
