//! What `#[statem]` writes: the user's block (handlers renamed), the
//! message enum, the `Statem` impl (the dispatch by state and event, the
//! enter calls), start functions and a client trait on the pid.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use super::model::{EventDef, Kind, Machine, Signal};
use crate::handler_args::call_args;

fn reply_field() -> Ident {
    Ident::new("reply", Span::mixed_site())
}

/// `Msg::Variant { a, b, reply }`, `Msg::Variant(x)` or `Msg::Variant`.
fn construct(msg: &Ident, event: &EventDef, reply: bool) -> TokenStream {
    let variant = &event.variant;
    let names = event.fields.iter().map(|(name, _)| name);
    let reply = (reply && event.kind == Kind::Call).then(reply_field);
    match event.kind {
        Kind::Info => quote!(#msg::#variant(#(#names)*)),
        Kind::Cast if event.fields.is_empty() => quote!(#msg::#variant),
        Kind::Call | Kind::Cast => quote!(#msg::#variant { #(#names,)* #reply }),
    }
}

pub(crate) fn machine(m: &Machine) -> TokenStream {
    let item = &m.item;
    let ident = &m.ident;
    let name = ident.to_string();
    let msg = format_ident!("{}Msg", ident);
    let client = format_ident!("{}Client", ident);
    let state_ty = &m.state;
    let site = Span::mixed_site();
    let ctx = Ident::new("ctx", site);
    let state = Ident::new("state", site);
    let event = Ident::new("event", site);
    let message = Ident::new("message", site);

    let messages = || m.events.iter().filter(|e| e.signal.is_none());
    // The message enum.
    let variants = messages().map(|e| {
        let variant = &e.variant;
        let doc = format!("The `{}` event of [`{name}`].", e.name);
        let fields = e.fields.iter().map(|(n, t)| quote!(#n: #t));
        match e.kind {
            Kind::Info => {
                let ty = &e.fields[0].1;
                quote!(#[doc = #doc] #variant(#ty))
            }
            Kind::Cast if e.fields.is_empty() => quote!(#[doc = #doc] #variant),
            Kind::Cast => quote!(#[doc = #doc] #variant { #(#fields,)* }),
            Kind::Call => {
                let reply = reply_field();
                let reply_ty = e.reply.as_ref().expect("a call has a reply type");
                quote!(#[doc = #doc] #variant { #(#fields,)* #reply: ::fauxtp::ReplyTo<#reply_ty> })
            }
        }
    });
    let debug_arms = messages().map(|e| {
        let variant = &e.variant;
        let text = format!("{msg}::{variant}");
        quote!(Self::#variant { .. } => f.write_str(#text),)
    });
    let froms = messages().filter(|e| e.kind == Kind::Info).map(|e| {
        let variant = &e.variant;
        let ty = &e.fields[0].1;
        quote! {
            #[automatically_derived]
            impl ::core::convert::From<#ty> for #msg {
                fn from(message: #ty) -> Self {
                    Self::#variant(message)
                }
            }
        }
    });

    // The dispatch: postponing first, then the handlers, in order.
    let mut arms = Vec::new();
    let mut signal_arms = (Vec::new(), Vec::new());
    for e in m.events.iter().filter(|e| e.signal.is_some()) {
        let field = &e.fields[0].0;
        for arm in &e.arms {
            let pat = &arm.state;
            let method = &arm.method;
            let args = call_args(&arm.args, &ctx);
            let await_ = arm.is_async.then(|| quote!(.await));
            let tokens = quote! {
                (#pat, #field) => ::fauxtp::__private::statem_step::<Self>(self.#method(#args) #await_),
            };
            match e.signal {
                Some(Signal::Down) => signal_arms.0.push(tokens),
                _ => signal_arms.1.push(tokens),
            }
        }
    }
    let (down_arms, exit_arms) = signal_arms;
    for e in messages() {
        let variant = &e.variant;
        for pat in &e.postponed {
            arms.push(quote! {
                (#pat, #message @ #msg::#variant { .. }) => ::fauxtp::__private::statem_postpone::<Self>(#message),
            });
        }
        for arm in &e.arms {
            let pat = &arm.state;
            let method = &arm.method;
            let args = call_args(&arm.args, &ctx);
            let await_ = arm.is_async.then(|| quote!(.await));
            let bind = construct(&msg, e, true);
            let body = match (e.kind, &arm.deferred) {
                (Kind::Call, Some(name)) => {
                    let reply = reply_field();
                    quote!({
                        let #name = #reply;
                        ::fauxtp::__private::statem_step::<Self>(self.#method(#args) #await_)
                    })
                }
                (Kind::Call, None) => {
                    let reply = reply_field();
                    quote!(::fauxtp::__private::statem_reply::<Self, _>(self.#method(#args) #await_, #reply))
                }
                (Kind::Cast | Kind::Info, _) => {
                    quote!(::fauxtp::__private::statem_step::<Self>(self.#method(#args) #await_))
                }
            };
            arms.push(quote!((#pat, #bind) => #body,));
        }
    }
    let enter_arms = m.enters.iter().map(|e| {
        let pat = &e.state;
        let method = &e.method;
        let args = e.takes_ctx.then(|| quote!(#ctx));
        let await_ = e.is_async.then(|| quote!(.await));
        quote!(#pat => { self.#method(#args) #await_; })
    });
    let state_enter = !m.enters.is_empty();
    let terminate = m.terminate.as_ref().map(|t| {
        let method = &t.method;
        let args = [quote!(reason), quote!(#state)];
        let args = &args[..t.arity];
        let await_ = t.is_async.then(|| quote!(.await));
        quote! {
            async fn terminate(&mut self, reason: &::fauxtp::ExitReason, #state: &#state_ty) {
                self.#method(#(#args),*) #await_;
            }
        }
    });

    // init
    let arg_types = m.init.fields.iter().map(|(_, ty)| ty);
    let args_type = match m.init.fields.len() {
        1 => quote!(#(#arg_types)*),
        _ => quote!((#(#arg_types,)*)),
    };
    let arg_names = m.init.fields.iter().map(|(name, _)| name);
    let args_var = Ident::new("args", site);
    let unpack = match m.init.fields.len() {
        1 => quote!(let #(#arg_names)* = #args_var;),
        _ => quote!(let (#(#arg_names,)*) = #args_var;),
    };
    let init_args = call_args(&m.init.args, &ctx);
    let init_await = m.init.is_async.then(|| quote!(.await));
    let init_result = if m.init.fallible {
        quote!(Self::init(#init_args) #init_await .map_err(::core::convert::Into::<::fauxtp::ExitReason>::into))
    } else {
        quote!(::core::result::Result::Ok(Self::init(#init_args) #init_await))
    };

    // Client functions and start functions.
    let mut declarations = Vec::new();
    let mut definitions = Vec::new();
    for e in messages() {
        let fn_name = &e.name;
        let params: Vec<_> = e.fields.iter().map(|(n, t)| quote!(#n: #t)).collect();
        let build = construct(&msg, e, true);
        let (signature, body) = match e.kind {
            Kind::Call => {
                let reply = reply_field();
                let reply_ty = e.reply.as_ref().expect("a call has a reply type");
                let label = format!("{name}::{fn_name}");
                let doc =
                    format!("Calls the `{fn_name}` event of [`{name}`] and waits for its reply.");
                (
                    quote!(#[doc = #doc] fn #fn_name(&self, #(#params),*) -> ::fauxtp::Call<::fauxtp::statem::StatemMsg<#msg>, #reply_ty>),
                    quote! {
                        ::fauxtp::Call::new(self, #label, |#reply| ::fauxtp::statem::StatemMsg::Event(#build))
                            .timeout(<#ident as ::fauxtp::statem::Statem>::OPTIONS.call_timeout())
                    },
                )
            }
            Kind::Cast => {
                let doc = format!("Sends the `{fn_name}` event to [`{name}`] and returns at once.");
                (
                    quote!(#[doc = #doc] fn #fn_name(&self, #(#params),*) -> ::core::result::Result<(), ::fauxtp::SendError<::fauxtp::statem::StatemMsg<#msg>>>),
                    quote!(self.send(::fauxtp::statem::StatemMsg::Event(#build))),
                )
            }
            Kind::Info => continue,
        };
        declarations.push(quote!(#signature;));
        definitions.push(quote!(#signature { #body }));
    }
    let pid = quote!(::fauxtp::statem::StatemPid<#ident>);
    let result = quote!(::core::result::Result<#pid, ::fauxtp::StartError>);
    let msg_doc = format!("The events of the [`{name}`] state machine (written by `#[statem]`).");
    let client_doc = format!(
        "The client functions of [`{name}`], one per `#[call]` and `#[cast]` event, on its pid (written by `#[statem]`)."
    );

    quote! {
        #item

        #[doc = #msg_doc]
        #[allow(private_interfaces)]
        pub enum #msg {
            #(#variants,)*
        }

        #[automatically_derived]
        impl ::core::fmt::Debug for #msg {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match *self {
                    #(#debug_arms)*
                }
            }
        }

        #(#froms)*

        #[automatically_derived]
        impl ::fauxtp::statem::Statem for #ident {
            type State = #state_ty;
            type Args = #args_type;
            type Msg = #msg;
            const NAME: &'static str = #name;
            const STATE_ENTER: bool = #state_enter;

            #[allow(unused_variables)]
            async fn init(
                #args_var: Self::Args,
                #ctx: &mut ::fauxtp::statem::StatemCtx<'_, Self>,
            ) -> ::core::result::Result<(#state_ty, Self), ::fauxtp::ExitReason> {
                #unpack
                #init_result
            }

            #[allow(unused_variables, unreachable_patterns)]
            async fn handle_event(
                &mut self,
                #state: &#state_ty,
                #event: ::fauxtp::statem::Event<#msg>,
                #ctx: &mut ::fauxtp::statem::StatemCtx<'_, Self>,
            ) -> ::fauxtp::statem::Step<Self> {
                let #message = match #event {
                    ::fauxtp::statem::Event::Msg(#message) => #message,
                    ::fauxtp::statem::Event::Down(#message) => {
                        return match (#state, #message) {
                            #(#down_arms)*
                            _ => ::fauxtp::statem::Step::Keep,
                        };
                    }
                    ::fauxtp::statem::Event::Exit(#message) => {
                        return match (#state, #message) {
                            #(#exit_arms)*
                            _ => ::fauxtp::statem::Step::Keep,
                        };
                    }
                };
                match (#state, #message) {
                    #(#arms)*
                    (#state, #message) => ::fauxtp::__private::statem_unhandled::<Self>(#state, #message),
                }
            }

            #[allow(unused_variables, unreachable_patterns)]
            async fn enter(
                &mut self,
                old: &#state_ty,
                #state: &#state_ty,
                #ctx: &mut ::fauxtp::statem::EnterCtx<'_, Self>,
            ) {
                match #state {
                    #(#enter_arms)*
                    _ => {}
                }
            }

            #terminate

            fn __debug_data(&self) -> ::core::option::Option<::std::string::String> {
                #[allow(unused_imports)]
                use ::fauxtp::__private::{DebugText as _, NoDebugText as _};
                (&::fauxtp::__private::DebugRef(self)).__debug_text()
            }
        }

        impl #ident {
            /// Starts the state machine; returns once `init` has run.
            pub async fn start(args: <Self as ::fauxtp::statem::Statem>::Args) -> #result {
                ::fauxtp::statem::start::<Self>(args).await
            }

            /// Starts the state machine linked to the calling process.
            pub async fn start_link(
                ctx: &impl ::fauxtp::ProcessContext,
                args: <Self as ::fauxtp::statem::Statem>::Args,
            ) -> #result {
                ::fauxtp::statem::start_link::<Self>(ctx, args).await
            }

            /// Starts the state machine registered as `name`.
            pub async fn start_named(name: &str, args: <Self as ::fauxtp::statem::Statem>::Args) -> #result {
                ::fauxtp::statem::start_named::<Self>(name, args).await
            }

            /// A child spec for a supervisor.
            pub fn child(args: <Self as ::fauxtp::statem::Statem>::Args) -> ::fauxtp::supervisor::ChildSpec
            where
                <Self as ::fauxtp::statem::Statem>::Args: ::core::clone::Clone + ::core::marker::Sync,
            {
                <::fauxtp::statem::Machine<Self> as ::fauxtp::supervisor::Supervise>::child(args)
            }
        }

        #[doc = #client_doc]
        pub trait #client {
            #(#declarations)*
        }

        #[automatically_derived]
        impl #client for #pid {
            #(#definitions)*
        }
    }
}

/// What a block whose `init` is missing or wrong still gets: a `Statem`
/// impl and start functions that are never run (the crate does not
/// compile), so that the reported error is the only one.
pub(crate) fn stub(ident: &Ident) -> TokenStream {
    let name = ident.to_string();
    let never = quote!(::core::unreachable!("#[statem] reported an error"));
    quote! {
        #[automatically_derived]
        impl ::fauxtp::statem::Statem for #ident {
            type State = ();
            type Args = ();
            type Msg = ();
            const NAME: &'static str = #name;

            async fn init(
                _: (),
                _: &mut ::fauxtp::statem::StatemCtx<'_, Self>,
            ) -> ::core::result::Result<((), Self), ::fauxtp::ExitReason> {
                #never
            }

            async fn handle_event(
                &mut self,
                _: &(),
                _: ::fauxtp::statem::Event<()>,
                _: &mut ::fauxtp::statem::StatemCtx<'_, Self>,
            ) -> ::fauxtp::statem::Step<Self> {
                #never
            }
        }

        impl #ident {
            /// Never runs: `#[statem]` reported an error.
            #[allow(unused_variables)]
            pub async fn start(
                args: impl ::core::marker::Send,
            ) -> ::core::result::Result<::fauxtp::statem::StatemPid<Self>, ::fauxtp::StartError> {
                #never
            }

            /// Never runs: `#[statem]` reported an error.
            #[allow(unused_variables)]
            pub fn child(args: impl ::core::marker::Send) -> ::fauxtp::supervisor::ChildSpec {
                #never
            }
        }
    }
}
