//! The `GenServer` impl: `init` from the start arguments, the dispatch of
//! each message to its handler, and the hooks (`Down`, `Exit`,
//! `terminate`).

use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use super::message::construct;
use super::{msg_ident, msg_type, options_value, self_type, type_params};
use crate::genserver::model::{reply_field, Arg, Handler, HandlerKind, Hook, Init, Reply, Server};

use crate::handler_args::call_args;

/// `Self::name(self, args)`, awaited if async.
fn invoke(ident: &Ident, is_async: bool, args: &[Arg], ctx: &Ident, receiver: bool) -> TokenStream {
    let args = call_args(args, ctx);
    let receiver = receiver.then(|| quote!(self,));
    let await_ = is_async.then(|| quote!(.await));
    quote!(Self::#ident(#receiver #args) #await_)
}

/// Runs a handler that does not reply; if it returns `Result<(), E>`, an
/// `Err` stops the server with that reason.
fn run_handler(call: TokenStream, fallible: bool, ctx: &Ident) -> TokenStream {
    if fallible {
        let error = Ident::new("error", Span::mixed_site());
        quote! {
            if let ::core::result::Result::Err(#error) = #call {
                #ctx.stop(::core::convert::Into::<::fauxtp::ExitReason>::into(#error));
            }
        }
    } else {
        quote!(#call;)
    }
}

pub(super) fn gen_server_impl(server: &Server, init: &Init) -> TokenStream {
    let site = Span::mixed_site();
    let ctx = Ident::new("ctx", site);
    let msg_var = Ident::new("msg", site);
    let args_var = Ident::new("args", site);
    let self_ty = self_type(server);
    let msg = msg_type(server);
    let msg_ident = msg_ident(server);
    let name = server.ident.to_string();
    let (impl_generics, _, where_clause) = server.generics.split_for_impl();
    let impl_options = options_value(&server.options);

    // init
    let arg_types = init.fields.iter().map(|(_, ty)| ty);
    let args_type = match init.fields.len() {
        1 => quote!(#(#arg_types)*),
        _ => quote!((#(#arg_types,)*)),
    };
    let arg_names = init.fields.iter().map(|(name, _)| name);
    let unpack = match init.fields.len() {
        1 => quote!(let #(#arg_names)* = #args_var;),
        _ => quote!(let (#(#arg_names,)*) = #args_var;),
    };
    let build = invoke(
        &Ident::new("init", Span::call_site()),
        init.is_async,
        &init.args,
        &ctx,
        false,
    );
    // A plain `fn init` never awaits: it can run in the starter's task.
    let init_in_caller = !init.is_async;
    let init_result = if init.fallible {
        quote!(#build.map_err(::core::convert::Into::<::fauxtp::ExitReason>::into))
    } else {
        quote!(::core::result::Result::Ok(#build))
    };

    // A `remote` server makes its type known to the node, so that it is
    // reachable by its registered name from other nodes.
    let remember = server
        .options
        .remote
        .is_some()
        .then(|| quote!(::fauxtp::dist::__private::remember::<#msg>();));

    // dispatch
    let arms = server
        .handlers
        .iter()
        .map(|h| dispatch_arm(h, &msg_ident, &ctx));
    let marker = (!type_params(server).is_empty())
        .then(|| quote!(#msg_ident::__Marker(_, never) => match never {},));

    let hook = |hook: &Option<Hook>, method: &str, param: TokenStream| {
        hook.as_ref().map(|h| {
            let method = Ident::new(method, Span::call_site());
            let call = run_handler(
                invoke(&h.ident, h.is_async, &h.args, &ctx, true),
                h.fallible,
                &ctx,
            );
            quote! {
                async fn #method(&mut self, #param, #ctx: &mut ::fauxtp::ServerCtx<Self>) {
                    #call
                }
            }
        })
    };
    let field = |hook: &Option<Hook>| -> Ident {
        hook.as_ref()
            .and_then(|h| {
                h.args.iter().find_map(|a| match a {
                    Arg::Field(name) => Some(name.clone()),
                    Arg::Ctx => None,
                })
            })
            .unwrap_or_else(|| Ident::new("_unused", site))
    };
    let down_field = field(&server.down);
    let exit_field = field(&server.exit);
    let reason_field = field(&server.terminate);
    let handle_down = hook(
        &server.down,
        "handle_down",
        quote!(#down_field: ::fauxtp::Down),
    );
    let handle_exit = hook(
        &server.exit,
        "handle_exit",
        quote!(#exit_field: ::fauxtp::Exit),
    );
    let terminate = hook(
        &server.terminate,
        "terminate",
        quote!(#reason_field: &::fauxtp::ExitReason),
    );

    // Evaluate the options now (`cargo check` included), so that an option
    // given twice is reported at once; a generic server's are checked when
    // it is first started.
    let check_options = server.generics.params.is_empty().then(|| {
        quote! {
            const _: () = {
                let _ = <#self_ty as ::fauxtp::GenServer>::OPTIONS;
            };
        }
    });

    quote! {
        #check_options

        #[automatically_derived]
        impl #impl_generics ::fauxtp::GenServer for #self_ty #where_clause {
            type Args = #args_type;
            type Msg = #msg;
            const SERVER: &'static str = #name;
            const INIT_IN_CALLER: bool = #init_in_caller;
            const OPTIONS: ::fauxtp::genserver::Options = {
                #[allow(unused_imports)]
                use ::fauxtp::__private::NoStructOptions as _;
                ::fauxtp::__private::merge_options(Self::__FAUXTP_STRUCT_OPTIONS, #impl_options)
            };

            fn __debug_state(&self) -> ::core::option::Option<::std::string::String> {
                #[allow(unused_imports)]
                use ::fauxtp::__private::{DebugText as _, NoDebugText as _};
                (&::fauxtp::__private::DebugRef(self)).__debug_text()
            }

            #[allow(unused_variables)]
            async fn init(
                #args_var: Self::Args,
                #ctx: &mut ::fauxtp::ServerCtx<Self>,
            ) -> ::core::result::Result<Self, ::fauxtp::ExitReason> {
                #remember
                #unpack
                #init_result
            }

            #[allow(unused_variables)]
            async fn handle(&mut self, #msg_var: Self::Msg, #ctx: &mut ::fauxtp::ServerCtx<Self>) {
                match #msg_var {
                    #(#arms)*
                    #marker
                }
            }

            #handle_down
            #handle_exit
            #terminate
        }
    }
}

fn dispatch_arm(h: &Handler, msg: &Ident, ctx: &Ident) -> TokenStream {
    let call = invoke(&h.ident, h.is_async, &h.args, ctx, true);
    let pattern = construct(&quote!(#msg), h);
    let body = match &h.kind {
        HandlerKind::Call {
            reply: Reply::Returned(_),
            ..
        } => {
            let reply = reply_field();
            if h.is_async {
                // The handler's own future, not awaited: `answer` awaits it.
                let future = invoke(&h.ident, false, &h.args, ctx, true);
                quote!(::fauxtp::__private::answer(#reply, #future).await)
            } else {
                quote!(::fauxtp::__private::answer_now(#reply, || #call))
            }
        }
        HandlerKind::Call {
            reply: Reply::Deferred(..),
            ..
        } => quote!(#call;),
        HandlerKind::Cast { .. } | HandlerKind::Info { .. } | HandlerKind::TaskEnd { .. } => {
            run_handler(call, h.fallible(), ctx)
        }
    };
    let watch = match &h.kind {
        HandlerKind::Call { reply, .. } => Some(watch_reply(reply, ctx)),
        _ => None,
    };
    quote!(#pattern => { #watch #body })
}

/// Hands a call's `ReplyTo` to `sys`, which watches it while the server is
/// traced or keeps statistics, with how to show a reply.
fn watch_reply(reply: &Reply, ctx: &Ident) -> TokenStream {
    let (field, ty) = reply.field_and_type();
    let value = Ident::new("value", Span::mixed_site());
    quote! {
        let #field = ::fauxtp::__private::watch_reply(#ctx, #field, |#value: &#ty| {
            #[allow(unused_imports)]
            use ::fauxtp::__private::{DebugText as _, NoDebugText as _};
            (&::fauxtp::__private::DebugRef(#value))
                .__debug_text()
                .unwrap_or_else(|| ::fauxtp::__private::type_text(#value))
        });
    }
}
