//! The checked model of a GenServer impl block: `init`, `terminate`, and one
//! handler per `#[call]`, `#[cast]`, `#[info]` and `#[task_end]` method.

use proc_macro2::Span;
use quote::format_ident;
use syn::spanned::Spanned;
use syn::{
    FnArg, GenericArgument, GenericParam, Generics, Ident, ImplItem, ImplItemFn, ItemImpl, Pat,
    PathArguments, ReturnType, Signature, Type,
};

use super::parse::Options;
use crate::errors::Errors;

pub(crate) struct Server {
    /// The impl block as the user wrote it, minus our handler attributes.
    pub item: ItemImpl,
    /// `Counter`, the last segment of the self type.
    pub ident: Ident,
    pub generics: Generics,
    pub options: Options,
    pub init: Init,
    pub terminate: Option<Hook>,
    pub handlers: Vec<Handler>,
    /// `#[info]` handlers for monitors' down messages and exit signals.
    pub down: Option<Hook>,
    pub exit: Option<Hook>,
}

/// How one argument of a user function is supplied by the generated code.
pub(crate) enum Arg {
    /// A field of the message variant (or the init args), by name.
    Field(Ident),
    /// The server context.
    Ctx,
}

pub(crate) struct Init {
    pub fields: Vec<(Ident, Type)>,
    pub args: Vec<Arg>,
    pub is_async: bool,
    pub fallible: bool,
}

/// `terminate`, or an `#[info]` handler for `Down` / `Exit`: the user
/// function gets its one special argument (the reason or the signal) and
/// maybe the context.
pub(crate) struct Hook {
    pub ident: Ident,
    pub is_async: bool,
    /// `Field(_)` stands for the special argument.
    pub args: Vec<Arg>,
    /// Returns `Result<(), E>`; an `Err` stops the server.
    pub fallible: bool,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Call,
    Cast,
    Info,
    TaskEnd,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Call => "call",
            Kind::Cast => "cast",
            Kind::Info => "info",
            Kind::TaskEnd => "task_end",
        }
    }
}

pub(crate) enum Reply {
    /// The handler's return value is the reply.
    Returned(Type),
    /// The handler takes `ReplyTo<T>` (this field) and replies when it will.
    Deferred(Ident, Type),
}

pub(crate) struct Handler {
    pub kind: Kind,
    pub ident: Ident,
    pub variant: Ident,
    pub is_async: bool,
    /// The message's fields: the handler's arguments except the context
    /// (and, for calls, the reply).
    pub fields: Vec<(Ident, Type)>,
    pub args: Vec<Arg>,
    /// For calls.
    pub reply: Option<Reply>,
    /// For `#[task_end]`: the `T` of `Result<T, TaskError>`.
    pub task_output: Option<Type>,
    /// A cast, info or task_end handler that returns `Result<(), E>`: an
    /// `Err` stops the server with that reason.
    pub fallible: bool,
}

impl Server {
    pub(crate) fn from_impl(mut item: ItemImpl, options: Options) -> syn::Result<Server> {
        let mut errors = Errors::default();
        let ident = match &*item.self_ty {
            Type::Path(path) if path.qself.is_none() => {
                path.path.segments.last().map(|s| s.ident.clone())
            }
            _ => None,
        };
        let Some(ident) = ident else {
            return Err(syn::Error::new(
                item.self_ty.span(),
                "#[genserver] goes on the impl block of a named type: `impl Counter { ... }`",
            ));
        };
        for param in &item.generics.params {
            if let GenericParam::Lifetime(lifetime) = param {
                errors.push(
                    lifetime.span(),
                    "a GenServer cannot borrow: its state lives in its own task; remove the lifetime parameter",
                );
            }
        }

        let mut init = None;
        let mut terminate = None;
        let mut handlers: Vec<Handler> = Vec::new();
        let (mut down, mut exit) = (None, None);
        for impl_item in &mut item.items {
            let kind = take_kind(impl_item, &mut errors);
            let ImplItem::Fn(method) = impl_item else {
                if let Some((kind, span)) = kind {
                    errors.push(
                        span,
                        format!(
                            "#[{}] goes on a method of the impl block (`fn name(&mut self, ...)`)",
                            kind.attr()
                        ),
                    );
                }
                continue;
            };
            match kind {
                Some((kind, _)) => {
                    if let Some(previous) = handlers.iter().find(|h| h.ident == method.sig.ident) {
                        errors.push(
                            method.sig.ident.span(),
                            format!(
                                "two handlers are named `{}`; handler names must differ (the first is a #[{}])",
                                previous.ident,
                                previous.kind.attr()
                            ),
                        );
                        continue;
                    }
                    match Handler::classify(kind, method, &mut errors) {
                        Some(HandlerOrHook::Handler(handler)) => handlers.push(*handler),
                        Some(HandlerOrHook::Down(hook)) => {
                            set_once(&mut down, hook, "Down", &mut errors)
                        }
                        Some(HandlerOrHook::Exit(hook)) => {
                            set_once(&mut exit, hook, "Exit", &mut errors)
                        }
                        None => {}
                    }
                }
                None if method.sig.ident == "init" => init = Init::new(method, &ident, &mut errors),
                None if method.sig.ident == "terminate" => {
                    terminate = terminate_hook(method, &mut errors)
                }
                None => {}
            }
        }
        check_payload_types(&handlers, &mut errors);
        if init.is_none() && !has_fn(&item, "init") {
            errors.push(
                item.self_ty.span(),
                format!(
                    "a GenServer needs an `init` function that builds its state: `async fn init(args...) -> Result<Self, ExitReason>` in `impl {ident}`"
                ),
            );
        }
        errors.finish()?;
        let Some(init) = init else {
            return Err(syn::Error::new(item.self_ty.span(), "missing `init`"));
        };
        Ok(Server {
            generics: item.generics.clone(),
            item,
            ident,
            options,
            init,
            terminate,
            handlers,
            down,
            exit,
        })
    }
}

fn has_fn(item: &ItemImpl, name: &str) -> bool {
    item.items
        .iter()
        .any(|i| matches!(i, ImplItem::Fn(f) if f.sig.ident == name))
}

fn set_once(slot: &mut Option<Hook>, hook: Hook, what: &str, errors: &mut Errors) {
    if slot.is_some() {
        errors.push(
            hook.ident.span(),
            format!("two #[info] handlers take `{what}`; keep one"),
        );
    } else {
        *slot = Some(hook);
    }
}

/// Removes our handler attribute from an impl item and says which it was.
fn take_kind(item: &mut ImplItem, errors: &mut Errors) -> Option<(Kind, Span)> {
    let attrs = match item {
        ImplItem::Fn(f) => &mut f.attrs,
        ImplItem::Const(c) => &mut c.attrs,
        ImplItem::Type(t) => &mut t.attrs,
        ImplItem::Macro(m) => &mut m.attrs,
        _ => return None,
    };
    let mut found: Option<(Kind, Span)> = None;
    attrs.retain(|attr| {
        let kind = match attr.path().get_ident().map(ToString::to_string).as_deref() {
            Some("call") => Kind::Call,
            Some("cast") => Kind::Cast,
            Some("info") => Kind::Info,
            Some("task_end") => Kind::TaskEnd,
            _ => return true,
        };
        if !matches!(attr.meta, syn::Meta::Path(_)) {
            errors.push(
                attr.meta.span(),
                format!("#[{}] takes no arguments", kind.attr()),
            );
        }
        if let Some((first, _)) = found {
            errors.push(
                attr.span(),
                format!(
                    "a method is one kind of handler: it is already a #[{}]",
                    first.attr()
                ),
            );
        } else {
            found = Some((kind, attr.meta.span()));
        }
        false
    });
    found
}

enum HandlerOrHook {
    Handler(Box<Handler>),
    Down(Hook),
    Exit(Hook),
}

/// The arguments of a method after its receiver, sorted into the context
/// and the rest (`(name, type)`), in order.
struct Params {
    args: Vec<Arg>,
    fields: Vec<(Ident, Type)>,
}

fn params(sig: &Signature, errors: &mut Errors) -> Params {
    let mut args = Vec::new();
    let mut fields = Vec::new();
    for input in &sig.inputs {
        let FnArg::Typed(typed) = input else {
            continue;
        };
        if is_ctx(&typed.ty) {
            args.push(Arg::Ctx);
            continue;
        }
        match &*typed.pat {
            Pat::Ident(p) if p.by_ref.is_none() && p.subpat.is_none() => {
                args.push(Arg::Field(p.ident.clone()));
                fields.push((p.ident.clone(), (*typed.ty).clone()));
            }
            other => errors.push(
                other.span(),
                "a handler argument becomes a field of the message: give it a plain name (`point: (i32, i32)`), and destructure it in the body",
            ),
        }
    }
    Params { args, fields }
}

/// `&mut ServerCtx<..>`, the server's context.
fn is_ctx(ty: &Type) -> bool {
    match ty {
        Type::Reference(r) => last_segment_is(&r.elem, "ServerCtx"),
        _ => false,
    }
}

fn last_segment_is(ty: &Type, name: &str) -> bool {
    match ty {
        Type::Path(p) => p.path.segments.last().is_some_and(|s| s.ident == name),
        _ => false,
    }
}

/// The first type argument of a path type (`T` in `ReplyTo<T>`).
fn first_type_arg(ty: &Type) -> Option<Type> {
    let Type::Path(p) = ty else { return None };
    let PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}

/// Checks the receiver: handlers take the state by reference.
fn check_receiver(sig: &Signature, kind: &str, errors: &mut Errors) {
    match sig.receiver() {
        Some(receiver) if matches!(receiver.kind, syn::ReceiverKind::Reference(..)) => {}
        Some(receiver) => errors.push(
            receiver.span(),
            format!("a {kind} takes the server's state by reference: `&self` or `&mut self`, not `self`"),
        ),
        None => errors.push(
            sig.ident.span(),
            format!("a {kind} needs a receiver: `fn {}(&mut self, ...)` (or `&self`)", sig.ident),
        ),
    }
}

/// Methods every `Pid` already has (its own, and those of the std traits
/// it implements): a client function with one of these names would be
/// hidden by them, or make `pid.name(..)` ambiguous.
const PID_METHODS: &[&str] = &[
    "send",
    "id",
    "any",
    "is_alive",
    "clone",
    "clone_from",
    "eq",
    "ne",
    "cmp",
    "partial_cmp",
    "lt",
    "le",
    "gt",
    "ge",
    "max",
    "min",
    "clamp",
    "hash",
    "fmt",
    "to_string",
    "to_owned",
    "into",
    "try_into",
    "borrow",
    "borrow_mut",
    "type_id",
];

/// The functions `#[genserver]` adds to the server type itself.
const GENERATED_FNS: &[&str] = &["start", "start_link", "start_named"];

impl Handler {
    /// Reads one handler method; an `#[info]` for `Down` or `Exit` becomes a
    /// hook rather than a message variant.
    fn classify(kind: Kind, method: &ImplItemFn, errors: &mut Errors) -> Option<HandlerOrHook> {
        let sig = &method.sig;
        let what = format!("#[{}] handler", kind.attr());
        check_receiver(sig, &what, errors);
        if GENERATED_FNS.iter().any(|f| sig.ident == f) {
            errors.push(
                sig.ident.span(),
                format!(
                    "`{}` is one of the functions #[genserver] writes for the server (start, start_link, start_named); name the handler differently",
                    sig.ident
                ),
            );
        }
        if matches!(kind, Kind::Call | Kind::Cast) && PID_METHODS.iter().any(|m| sig.ident == m) {
            errors.push(
                sig.ident.span(),
                format!(
                    "a handler named `{}` would be hidden by `Pid::{}` on the client side; choose another name",
                    sig.ident, sig.ident
                ),
            );
        }
        let Params {
            mut args,
            mut fields,
        } = params(sig, errors);
        let returns = match &sig.output {
            ReturnType::Default => None,
            ReturnType::Type(_, ty) => Some((**ty).clone()),
        };
        let mut reply = None;
        let mut task_output = None;
        // Handlers that do not reply may return `Result<(), E>`.
        let fallible = kind != Kind::Call
            && returns
                .as_ref()
                .is_some_and(|ty| last_segment_is(ty, "Result"));
        match kind {
            Kind::Call => {
                let deferred = fields
                    .iter()
                    .position(|(_, ty)| last_segment_is(ty, "ReplyTo"));
                if let Some(index) = deferred {
                    let (name, ty) = fields.remove(index);
                    if let Some(ret) = &returns {
                        errors.push(
                            ret.span(),
                            "a #[call] handler that takes a `ReplyTo` replies through it and returns nothing; remove the return type",
                        );
                    }
                    match first_type_arg(&ty) {
                        Some(t) => reply = Some(Reply::Deferred(name, t)),
                        None => errors.push(ty.span(), "write the reply type: `ReplyTo<T>`"),
                    }
                } else {
                    if let Some((name, _)) = fields.iter().find(|(name, _)| name == "reply") {
                        errors.push(
                            name.span(),
                            "`reply` is the name of the call's reply field in the message; rename this argument",
                        );
                    }
                    let ty = returns.unwrap_or_else(|| syn::parse_quote!(()));
                    reply = Some(Reply::Returned(ty));
                }
            }
            Kind::Cast => {
                if let Some(ret) = returns.as_ref().filter(|_| !fallible) {
                    errors.push(
                        ret.span(),
                        "a #[cast] handler returns nothing (or `Result<(), E>`, whose error stops the server): the sender does not wait for a reply; use #[call] to answer",
                    );
                }
            }
            Kind::Info | Kind::TaskEnd => {
                if let Some(ret) = returns.as_ref().filter(|_| !fallible) {
                    errors.push(
                        ret.span(),
                        format!("a {what} returns nothing, or `Result<(), E>` whose error stops the server"),
                    );
                }
                if fields.len() != 1 {
                    let expected = if kind == Kind::Info {
                        "the message it handles: `fn tick(&mut self, tick: Tick)`"
                    } else {
                        "the task's result: `fn fetched(&mut self, result: Result<T, TaskError>)`"
                    };
                    errors.push(
                        sig.inputs.span(),
                        format!("a {what} takes exactly one argument besides `self` and the context: {expected}"),
                    );
                    return None;
                }
                let ty = &fields[0].1;
                if kind == Kind::TaskEnd {
                    match last_segment_is(ty, "Result")
                        .then(|| first_type_arg(ty))
                        .flatten()
                    {
                        Some(t) => task_output = Some(t),
                        None => errors.push(
                            ty.span(),
                            "a #[task_end] handler takes the task's result: `Result<T, TaskError>`",
                        ),
                    }
                } else if last_segment_is(ty, "Down") || last_segment_is(ty, "Exit") {
                    let is_down = last_segment_is(ty, "Down");
                    let hook = Hook {
                        ident: sig.ident.clone(),
                        is_async: sig.asyncness.is_some(),
                        args: std::mem::take(&mut args),
                        fallible,
                    };
                    return Some(if is_down {
                        HandlerOrHook::Down(hook)
                    } else {
                        HandlerOrHook::Exit(hook)
                    });
                }
            }
        }
        Some(HandlerOrHook::Handler(Box::new(Handler {
            kind,
            variant: variant_name(&sig.ident),
            ident: sig.ident.clone(),
            is_async: sig.asyncness.is_some(),
            fields,
            args,
            reply,
            task_output,
            fallible,
        })))
    }
}

impl Init {
    fn new(method: &ImplItemFn, server: &Ident, errors: &mut Errors) -> Option<Init> {
        let sig = &method.sig;
        if let Some(receiver) = sig.receiver() {
            errors.push(
                receiver.span(),
                "`init` builds the server's state, so it takes no `self`: `async fn init(args...) -> Result<Self, ExitReason>`",
            );
        }
        let Params { args, fields } = params(sig, errors);
        let returned = match &sig.output {
            ReturnType::Type(_, ty) => Some(&**ty),
            ReturnType::Default => None,
        };
        let is_state =
            |ty: &Type| last_segment_is(ty, "Self") || last_segment_is(ty, &server.to_string());
        let fallible = match returned {
            Some(ty) if is_state(ty) => false,
            Some(ty)
                if last_segment_is(ty, "Result")
                    && first_type_arg(ty).is_some_and(|t| is_state(&t)) =>
            {
                true
            }
            other => {
                errors.push(
                    other.map_or(sig.ident.span(), |t| t.span()),
                    "`init` returns the server's state: `Self`, or `Result<Self, E>` where `E` converts into `ExitReason`",
                );
                return None;
            }
        };
        Some(Init {
            fields,
            args,
            is_async: sig.asyncness.is_some(),
            fallible,
        })
    }
}

fn terminate_hook(method: &ImplItemFn, errors: &mut Errors) -> Option<Hook> {
    let sig = &method.sig;
    check_receiver(sig, "`terminate`", errors);
    let Params { args, fields } = params(sig, errors);
    if fields.len() != 1 || !matches!(&sig.output, ReturnType::Default) {
        errors.push(
            sig.span(),
            "`terminate` takes the exit reason and returns nothing: `async fn terminate(&mut self, reason: &ExitReason)`",
        );
        return None;
    }
    Some(Hook {
        ident: sig.ident.clone(),
        is_async: sig.asyncness.is_some(),
        args,
        fallible: false,
    })
}

/// Two `#[info]` (or `#[task_end]`) handlers for the same type would need
/// two conversions from it into the message enum.
fn check_payload_types(handlers: &[Handler], errors: &mut Errors) {
    let key = |h: &Handler| -> Option<String> {
        let ty = match h.kind {
            Kind::Info => &h.fields.first()?.1,
            Kind::TaskEnd => h.task_output.as_ref()?,
            _ => return None,
        };
        Some(format!("{:?} {}", h.kind == Kind::Info, quote::quote!(#ty)))
    };
    for (i, handler) in handlers.iter().enumerate() {
        let Some(mine) = key(handler) else { continue };
        if let Some(first) = handlers[..i]
            .iter()
            .find(|h| key(h).as_ref() == Some(&mine))
        {
            errors.push(
                handler.ident.span(),
                format!(
                    "`{}` and `{}` handle the same type; one #[{}] handler per type",
                    first.ident,
                    handler.ident,
                    handler.kind.attr()
                ),
            );
        }
    }
}

/// `get_value` -> `GetValue`.
fn variant_name(ident: &Ident) -> Ident {
    let name = ident.to_string();
    let camel: String = name
        .trim_start_matches("r#")
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    format_ident!("{}", camel, span = ident.span())
}
