//! The code `#[genserver]` writes: the message enum, its `From`
//! conversions, the `GenServer` impl (init, dispatch, hooks), the start
//! functions and the client trait. Everything is named by absolute path.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{GenericParam, Ident, ItemStruct, Type};

use super::model::{Arg, Handler, Hook, Kind, Reply, Server};
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

fn options_value(options: &Options) -> TokenStream {
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
    quote!(::fauxtp::genserver::Options { name: #name, call_timeout: #call_timeout })
}

pub(crate) fn server(server: &Server) -> TokenStream {
    let item = &server.item;
    let message_enum = message_enum(server);
    let conversions = conversions(server);
    let gen_server = gen_server_impl(server);
    let start = start_functions(server);
    let client = client_trait(server);
    let remote = server.options.remote.map(|span| remote_impl(server, span));
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

/// `#[genserver(remote)]`: how requests from other nodes become messages
/// (`fauxtp::dist::RemoteServer`). A call to handler `add(n)` is `{add, N}`,
/// to `get()` the atom `get`; casts alike; an `#[info]` handler that takes
/// a `Term` gets every other message.
fn remote_impl(server: &Server, span: Span) -> TokenStream {
    if !server.generics.params.is_empty() {
        return syn::Error::new(span, "a `remote` GenServer cannot be generic").to_compile_error();
    }
    let msg = msg_ident(server);
    let request = Ident::new("__fauxtp_request", Span::mixed_site());
    let tag = Ident::new("__fauxtp_tag", Span::mixed_site());
    let args = Ident::new("__fauxtp_args", Span::mixed_site());
    let pid = Ident::new("__fauxtp_server", Span::mixed_site());
    let caller = Ident::new("__fauxtp_caller", Span::mixed_site());
    let decode = |h: &Handler| {
        let names: Vec<Ident> = h.fields.iter().map(|(name, _)| name.clone()).collect();
        let types = h.fields.iter().map(|(_, ty)| ty);
        let indexes = 0..h.fields.len();
        let count = h.fields.len();
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
        match (h.kind, &h.reply) {
            (Kind::Call, Some(reply)) => {
                let (reply_ty, reply_name) = match reply {
                    Reply::Returned(ty) => (ty, reply_field()),
                    Reply::Deferred(name, ty) => (ty, name.clone()),
                };
                let (check, read, pattern, names) = decode(h);
                calls.push(quote! {
                    if #check {
                        #[allow(irrefutable_let_patterns)]
                        if let #pattern = #read {
                            let #reply_name = #caller.reply_to::<#reply_ty>();
                            // A server that has just ended drops the call; the
                            // caller's monitor says why.
                            let _ = #pid.send(#msg::#variant { #(#names,)* #reply_name });
                            return ::core::result::Result::Ok(());
                        }
                    }
                });
            }
            (Kind::Cast, _) => {
                let (check, read, pattern, names) = decode(h);
                let build = if names.is_empty() {
                    quote!(#msg::#variant)
                } else {
                    quote!(#msg::#variant { #(#names,)* })
                };
                casts.push(quote! {
                    if #check {
                        #[allow(irrefutable_let_patterns)]
                        if let #pattern = #read {
                            return ::core::option::Option::Some(#build);
                        }
                    }
                });
            }
            (Kind::Info, _) if is_term(&h.fields[0].1) => {
                info = Some(quote! {
                    fn remote_info(
                        message: ::fauxtp::dist::term::Term,
                    ) -> ::core::result::Result<Self, ::fauxtp::dist::term::Term> {
                        ::core::result::Result::Ok(#msg::#variant(message))
                    }
                });
            }
            _ => {}
        }
    }
    quote! {
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

            #[allow(unused_variables)]
            fn remote_cast(#request: &::fauxtp::dist::term::Term) -> ::core::option::Option<Self> {
                let (#tag, #args) = ::fauxtp::dist::__private::request_parts(#request)?;
                #(#casts)*
                ::core::option::Option::None
            }

            #info
        }
    }
}

/// Whether `ty` names the Erlang term type (`Term`, by its last segment).
fn is_term(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => path.path.segments.last().is_some_and(|s| s.ident == "Term"),
        _ => false,
    }
}

fn msg_ident(server: &Server) -> Ident {
    format_ident!("{}Msg", server.ident)
}

fn client_ident(server: &Server) -> Ident {
    format_ident!("{}Client", server.ident)
}

/// `CounterMsg<K>`
fn msg_type(server: &Server) -> TokenStream {
    let msg = msg_ident(server);
    let (_, ty_generics, _) = server.generics.split_for_impl();
    quote!(#msg #ty_generics)
}

fn self_type(server: &Server) -> &Type {
    &server.item.self_ty
}

/// The type parameters, for the never-built marker variant that uses them.
fn type_params(server: &Server) -> Vec<&Ident> {
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

/// The field that carries a call's reply when the handler returns it.
fn reply_field() -> Ident {
    Ident::new("reply", Span::call_site())
}

fn message_enum(server: &Server) -> TokenStream {
    let msg = msg_ident(server);
    let name = server.ident.to_string();
    let (impl_generics, ty_generics, where_clause) = server.generics.split_for_impl();
    let variants = server.handlers.iter().map(|h| {
        let variant = &h.variant;
        let doc = format!(
            "{} of [`{name}::{}`]{}.",
            match h.kind {
                Kind::Call => "A call",
                Kind::Cast => "A cast",
                Kind::Info => "The message",
                Kind::TaskEnd => "The result of a background task, for",
            },
            h.ident,
            match h.kind {
                Kind::Call => "; `reply` (or the handler's `ReplyTo` argument) takes the answer",
                _ => "",
            }
        );
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
    let debug_arms = server.handlers.iter().map(|h| {
        let variant = &h.variant;
        let text = format!("{msg}::{variant}");
        quote!(Self::#variant { .. } => f.write_str(#text),)
    });
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

        /// Shows the variant only (`CounterMsg::Add`): the payloads need not
        /// implement `Debug`. Matches on the place, so that a server without
        /// handlers (an empty enum) needs no arm.
        impl #impl_generics ::core::fmt::Debug for #msg #ty_generics #where_clause {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match *self {
                    #(#debug_arms)*
                    #debug_marker
                }
            }
        }
    }
}

/// `{ n: u64, reply: ReplyTo<u64> }`, `(Tick)` or nothing.
fn variant_fields(h: &Handler) -> TokenStream {
    match h.kind {
        Kind::Info | Kind::TaskEnd => {
            let ty = &h.fields[0].1;
            quote!((#ty))
        }
        Kind::Call => {
            let fields = h.fields.iter().map(|(name, ty)| quote!(#name: #ty));
            let reply = match &h.reply {
                Some(Reply::Returned(ty)) => {
                    let field = reply_field();
                    quote!(#field: ::fauxtp::ReplyTo<#ty>)
                }
                Some(Reply::Deferred(name, ty)) => quote!(#name: ::fauxtp::ReplyTo<#ty>),
                None => quote!(),
            };
            quote!({ #(#fields,)* #reply })
        }
        Kind::Cast if h.fields.is_empty() => quote!(),
        Kind::Cast => {
            let fields = h.fields.iter().map(|(name, ty)| quote!(#name: #ty));
            quote!({ #(#fields,)* })
        }
    }
}

fn conversions(server: &Server) -> TokenStream {
    let msg = msg_type(server);
    let (impl_generics, _, where_clause) = server.generics.split_for_impl();
    let impls = server.handlers.iter().filter_map(|h| {
        let variant = &h.variant;
        match h.kind {
            Kind::Info => {
                let ty = &h.fields[0].1;
                Some(quote! {
                    impl #impl_generics ::core::convert::From<#ty> for #msg #where_clause {
                        fn from(message: #ty) -> Self {
                            Self::#variant(message)
                        }
                    }
                })
            }
            Kind::TaskEnd => {
                let output = h.task_output.as_ref()?;
                Some(quote! {
                    impl #impl_generics ::core::convert::From<::fauxtp::TaskDone<#output>> for #msg #where_clause {
                        fn from(done: ::fauxtp::TaskDone<#output>) -> Self {
                            Self::#variant(done.0)
                        }
                    }
                })
            }
            Kind::Call | Kind::Cast => None,
        }
    });
    quote!(#(#impls)*)
}

/// The arguments of a call to a user function, in the user's order.
fn call_args(args: &[Arg], ctx: &Ident) -> TokenStream {
    let args = args.iter().map(|arg| match arg {
        Arg::Field(name) => quote!(#name),
        Arg::Ctx => quote!(#ctx),
    });
    quote!(#(#args),*)
}

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

fn gen_server_impl(server: &Server) -> TokenStream {
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
    let init = &server.init;
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

            #[allow(unused_variables)]
            async fn init(
                #args_var: Self::Args,
                #ctx: &mut ::fauxtp::ServerCtx<Self>,
            ) -> ::core::result::Result<Self, ::fauxtp::ExitReason> {
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
    let variant = &h.variant;
    let names: Vec<&Ident> = h.fields.iter().map(|(name, _)| name).collect();
    let call = invoke(&h.ident, h.is_async, &h.args, ctx, true);
    // The handler's own future, not awaited: `answer` awaits it.
    let call_future = invoke(&h.ident, false, &h.args, ctx, true);
    match (h.kind, &h.reply) {
        (Kind::Call, Some(Reply::Returned(_))) if h.is_async => {
            let reply = reply_field();
            quote! {
                #msg::#variant { #(#names,)* #reply } => {
                    ::fauxtp::__private::answer(#reply, #call_future).await
                }
            }
        }
        (Kind::Call, Some(Reply::Returned(_))) => {
            let reply = reply_field();
            quote! {
                #msg::#variant { #(#names,)* #reply } => {
                    ::fauxtp::__private::answer_now(#reply, || #call)
                }
            }
        }
        (Kind::Call, Some(Reply::Deferred(reply, _))) => quote! {
            #msg::#variant { #(#names,)* #reply } => { #call; }
        },
        (Kind::Call, None) => quote!(#msg::#variant { #(#names,)* } => { #call; }),
        (Kind::Cast, _) => {
            let run = run_handler(call, h.fallible, ctx);
            if names.is_empty() {
                quote!(#msg::#variant => { #run })
            } else {
                quote!(#msg::#variant { #(#names,)* } => { #run })
            }
        }
        (Kind::Info | Kind::TaskEnd, _) => {
            let run = run_handler(call, h.fallible, ctx);
            quote!(#msg::#variant(#(#names)*) => { #run })
        }
    }
}

fn start_functions(server: &Server) -> TokenStream {
    let self_ty = self_type(server);
    let msg = msg_type(server);
    let (impl_generics, _, where_clause) = server.generics.split_for_impl();
    let name = server.ident.to_string();
    let result = quote!(::core::result::Result<::fauxtp::Pid<#msg>, ::fauxtp::StartError>);
    let args = quote!(<Self as ::fauxtp::GenServer>::Args);
    let default_name = quote!(<Self as ::fauxtp::GenServer>::OPTIONS.name);
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
    quote! {
        impl #impl_generics #self_ty #where_clause {
            #[doc = #doc_start]
            pub async fn start(args: #args) -> #result {
                ::fauxtp::__private::start_server::<Self>(args, #default_name, ::core::option::Option::None).await
            }

            #[doc = #doc_link]
            pub async fn start_link(ctx: &impl ::fauxtp::ProcessContext, args: #args) -> #result {
                let parent = ::fauxtp::ProcessContext::self_pid(ctx);
                ::fauxtp::__private::start_server::<Self>(args, #default_name, ::core::option::Option::Some(parent)).await
            }

            #[doc = #doc_named]
            pub async fn start_named(name: &str, args: #args) -> #result {
                ::fauxtp::__private::start_server::<Self>(args, ::core::option::Option::Some(name), ::core::option::Option::None).await
            }
        }
    }
}

fn client_trait(server: &Server) -> TokenStream {
    let client = client_ident(server);
    let msg = msg_type(server);
    let msg_ident = msg_ident(server);
    let self_ty = self_type(server);
    let name = server.ident.to_string();
    let (impl_generics, ty_generics, where_clause) = server.generics.split_for_impl();
    let mut declarations = Vec::new();
    let mut definitions = Vec::new();
    for h in &server.handlers {
        let ident = &h.ident;
        let variant = &h.variant;
        let params = h.fields.iter().map(|(name, ty)| quote!(#name: #ty));
        let names: Vec<&Ident> = h.fields.iter().map(|(name, _)| name).collect();
        let (signature, body) = match (h.kind, &h.reply) {
            (Kind::Call, Some(reply)) => {
                let (reply_ty, reply_name) = match reply {
                    Reply::Returned(ty) => (ty, reply_field()),
                    Reply::Deferred(name, ty) => (ty, name.clone()),
                };
                let label = format!("{name}::{ident}");
                let doc = format!("Calls [`{name}::{ident}`] and waits for its reply (see `Call` for the timeout).");
                (
                    quote!(#[doc = #doc] fn #ident(&self, #(#params),*) -> ::fauxtp::Call<#msg, #reply_ty>),
                    quote! {
                        ::fauxtp::Call::new(self, #label, |#reply_name| #msg_ident::#variant { #(#names,)* #reply_name })
                            .timeout(<#self_ty as ::fauxtp::GenServer>::OPTIONS.call_timeout())
                    },
                )
            }
            (Kind::Cast, _) => {
                let doc =
                    format!("Casts [`{name}::{ident}`]: sends the message and returns at once.");
                let build = if names.is_empty() {
                    quote!(#msg_ident::#variant)
                } else {
                    quote!(#msg_ident::#variant { #(#names,)* })
                };
                (
                    quote! {
                        #[doc = #doc]
                        fn #ident(&self, #(#params),*) -> ::core::result::Result<(), ::fauxtp::SendError<#msg>>
                    },
                    quote!(self.send(#build)),
                )
            }
            _ => continue,
        };
        declarations.push(quote!(#signature;));
        definitions.push(quote!(#signature { #body }));
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

        impl #impl_generics #client #ty_generics for ::fauxtp::Pid<#msg> #where_clause {
            #(#definitions)*
        }
    }
}
