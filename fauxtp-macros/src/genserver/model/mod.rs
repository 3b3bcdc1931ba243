//! The checked model of a GenServer impl block: `init`, `terminate`, and one
//! handler per `#[call]`, `#[cast]`, `#[info]` and `#[task_end]` method.
//!
//! Building it never stops at the first mistake: every error goes to the
//! one collector, a handler with a mistake is left out, and the rest is
//! kept, so that the expansion still writes what is right and a user sees
//! only the real errors. `signature.rs` reads one method, `check.rs` holds
//! the rules between handlers.

mod check;
mod signature;

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{GenericParam, Generics, Ident, ImplItem, ItemImpl, Type};

use super::parse::Options;
use crate::errors::Errors;
use crate::names::impl_type;

pub(crate) struct Server {
    /// The impl block as the user wrote it, minus our handler attributes.
    pub item: ItemImpl,
    /// `Counter`, the last segment of the self type.
    pub ident: Ident,
    pub generics: Generics,
    pub options: Options,
    /// `None` if `init` is missing or has a mistake: then the expansion
    /// writes stubs where it needs `init` (see `expand::fallback`).
    pub init: Option<Init>,
    pub terminate: Option<Hook>,
    pub handlers: Vec<Handler>,
    /// `#[info]` handlers for monitors' down messages and exit signals.
    pub down: Option<Hook>,
    pub exit: Option<Hook>,
}

pub(crate) use crate::handler_args::Arg;

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

/// A handler: a method that becomes a variant of the message enum.
pub(crate) struct Handler {
    pub ident: Ident,
    pub variant: Ident,
    pub is_async: bool,
    pub args: Vec<Arg>,
    pub kind: HandlerKind,
}

/// What differs between the kinds of handler, each with what it needs and
/// nothing it cannot have. (A few per server, built once: their sizes do
/// not matter.)
#[allow(clippy::large_enum_variant)]
pub(crate) enum HandlerKind {
    Call {
        /// The handler's arguments except the context and the reply.
        fields: Vec<(Ident, Type)>,
        reply: Reply,
    },
    Cast {
        fields: Vec<(Ident, Type)>,
        /// Returns `Result<(), E>`: an `Err` stops the server.
        fallible: bool,
    },
    Info {
        /// The message it handles, as the handler names it.
        field: (Ident, Type),
        fallible: bool,
    },
    TaskEnd {
        /// The task's result, `Result<T, TaskError>`, as the handler names it.
        field: (Ident, Type),
        /// The `T`.
        output: Type,
        fallible: bool,
    },
}

pub(crate) enum Reply {
    /// The handler's return value is the reply.
    Returned(Type),
    /// The handler takes `ReplyTo<T>` (this field) and replies when it will.
    Deferred(Ident, Type),
}

impl Reply {
    /// The message's field that carries the reply, and the reply's type.
    pub(crate) fn field_and_type(&self) -> (Ident, &Type) {
        match self {
            Reply::Returned(ty) => (reply_field(), ty),
            Reply::Deferred(name, ty) => (name.clone(), ty),
        }
    }
}

/// The field that carries a call's reply when the handler returns it.
pub(crate) fn reply_field() -> Ident {
    Ident::new("reply", Span::call_site())
}

impl Handler {
    /// The attribute that made it (`call`, ...), for messages.
    pub(crate) fn attr(&self) -> &'static str {
        match self.kind {
            HandlerKind::Call { .. } => "call",
            HandlerKind::Cast { .. } => "cast",
            HandlerKind::Info { .. } => "info",
            HandlerKind::TaskEnd { .. } => "task_end",
        }
    }

    /// The fields of its message variant, but a call's reply.
    pub(crate) fn fields(&self) -> &[(Ident, Type)] {
        match &self.kind {
            HandlerKind::Call { fields, .. } | HandlerKind::Cast { fields, .. } => fields,
            HandlerKind::Info { field, .. } | HandlerKind::TaskEnd { field, .. } => {
                std::slice::from_ref(field)
            }
        }
    }

    /// Whether an `Err` it returns stops the server.
    pub(crate) fn fallible(&self) -> bool {
        match &self.kind {
            HandlerKind::Call { .. } => false,
            HandlerKind::Cast { fallible, .. }
            | HandlerKind::Info { fallible, .. }
            | HandlerKind::TaskEnd { fallible, .. } => *fallible,
        }
    }
}

impl Server {
    /// The model of an impl block; if nothing can be generated for it, the
    /// block itself with its handler attributes removed (it borrows), or
    /// nothing (its type is not a named type). Every mistake goes to
    /// `errors`.
    pub(crate) fn from_impl(
        mut item: ItemImpl,
        mut options: Options,
        errors: &mut Errors,
    ) -> Result<Server, Option<Box<ItemImpl>>> {
        let Some(ident) = impl_type(&item) else {
            // No impl of this kind is valid Rust either: given back, it
            // would only be reported again.
            errors.push(
                item.self_ty.span(),
                "#[genserver] goes on the impl block of a named type: `impl Counter { ... }`",
            );
            return Err(None);
        };
        let mut lifetimes = false;
        for param in &item.generics.params {
            if let GenericParam::Lifetime(lifetime) = param {
                lifetimes = true;
                errors.push(
                    lifetime.span(),
                    "a GenServer cannot borrow: its state lives in its own task; remove the lifetime parameter",
                );
            }
        }
        check::remote(&item.generics, &mut options, errors);

        let mut init = None;
        let mut terminate = None;
        let mut handlers: Vec<Handler> = Vec::new();
        let (mut down, mut exit) = (None, None);
        // Methods that cannot stay in the block the user gets back: a second
        // handler of the same name, a handler named like a generated
        // function (Rust would report each clash again).
        let mut clashing = Vec::new();
        for (index, impl_item) in item.items.iter_mut().enumerate() {
            let kind = signature::take_kind(impl_item, errors);
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
                    if check::name_taken(&handlers, &method.sig.ident, errors) {
                        clashing.push(index);
                        continue;
                    }
                    if check::is_generated(&method.sig.ident) || check::bare_reply_to(method) {
                        clashing.push(index);
                    }
                    match signature::classify(kind, method, errors) {
                        Some(signature::Classified::Handler(handler)) => handlers.push(*handler),
                        Some(signature::Classified::Down(hook)) => {
                            check::set_once(&mut down, hook, "Down", errors)
                        }
                        Some(signature::Classified::Exit(hook)) => {
                            check::set_once(&mut exit, hook, "Exit", errors)
                        }
                        None => {}
                    }
                }
                None if method.sig.ident == "init" => {
                    init = signature::init(method, &ident, errors)
                }
                None if method.sig.ident == "terminate" => {
                    terminate = signature::terminate(method, errors)
                }
                None => {}
            }
        }
        for index in clashing.into_iter().rev() {
            item.items.remove(index);
        }
        check::payload_types(&mut handlers, errors);
        check::init_present(&item, &ident, init.is_some(), errors);
        if lifetimes {
            // Nothing generated could name the type: stubs would only add
            // errors about the lifetime.
            return Err(Some(Box::new(item)));
        }
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
