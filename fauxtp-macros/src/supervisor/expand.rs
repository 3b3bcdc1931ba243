//! The code a `supervisor!` tree becomes: a unit struct with `spec`,
//! `start`, `start_link`, `start_named` and `child`.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, PatType, Visibility};

use super::model::{Strategy, Tree};

pub(crate) fn expand(tree: &Tree) -> TokenStream {
    let Tree {
        attrs,
        vis,
        name,
        max_restarts,
        within_millis,
        ..
    } = tree;
    let strategy = match tree.strategy {
        Strategy::OneForOne => quote!(OneForOne),
        Strategy::OneForAll => quote!(OneForAll),
        Strategy::RestForOne => quote!(RestForOne),
    };
    let children = tree.children.iter().map(|(id, spec)| {
        let id = id.to_string();
        // Spanned at the child's expression: a value that is not a
        // `ChildSpec` is a type error pointing at it.
        let checked = quote_spanned!(spec.span()=> ::fauxtp::__private::child_spec(#spec));
        quote!(.child(#checked.id(#id)))
    });
    let spec = quote! {
        ::fauxtp::supervisor::SupervisorSpec::new(::fauxtp::supervisor::Strategy::#strategy)
            .intensity(#max_restarts, ::core::time::Duration::from_millis(#within_millis))
            #(#children)*
    };
    tree_type(attrs, vis, name, &tree.args, spec)
}

/// The type of a tree whose input does not parse: the same functions, so
/// that code using them shows no errors of its own; never run, since the
/// crate does not compile.
pub(crate) fn stub(
    attrs: &[Attribute],
    vis: &Visibility,
    name: &Ident,
    args: &[PatType],
) -> TokenStream {
    tree_type(
        attrs,
        vis,
        name,
        args,
        quote!(::core::unreachable!("supervisor! reported an error")),
    )
}

/// The unit struct of a tree and its functions, around `spec`, the body of
/// `spec()`.
fn tree_type(
    attrs: &[Attribute],
    vis: &Visibility,
    name: &Ident,
    args: &[PatType],
    spec: TokenStream,
) -> TokenStream {
    let id = name.to_string();
    // What `start` takes: `()` for a tree without arguments, the one
    // argument, or a tuple of them; unpacked into `spec`'s parameters.
    let types: Vec<_> = args.iter().map(|a| &a.ty).collect();
    let args_var = Ident::new("args", proc_macro2::Span::mixed_site());
    let (args_ty, call_spec) = match args.len() {
        0 => (quote!(()), quote!(Self::spec())),
        1 => (quote!(#(#types)*), quote!(Self::spec(#args_var))),
        _ => {
            let names: Vec<Ident> = (0..args.len())
                .map(|i| Ident::new(&format!("arg{i}"), proc_macro2::Span::mixed_site()))
                .collect();
            (
                quote!((#(#types,)*)),
                quote!({ let (#(#names,)*) = #args_var; Self::spec(#(#names),*) }),
            )
        }
    };
    let params = args.iter().map(|a| quote!(#a));
    let doc = format!(
        "The supervision tree `{id}`, declared with `supervisor!`: start it with \
         [`{id}::start`], or nest it in another tree with [`{id}::child`]."
    );
    let result = quote!(
        ::core::result::Result<
            ::fauxtp::Pid<::fauxtp::supervisor::SupervisorMsg>,
            ::fauxtp::StartError,
        >
    );
    quote! {
        #(#attrs)*
        #[doc = #doc]
        #[derive(Debug, Clone, Copy)]
        #vis struct #name;

        impl #name {
            /// The tree's strategy, intensity and children. The children's
            /// expressions are evaluated each time this is called: by
            /// `start`, or when a parent tree builds its own spec (a tree
            /// restarted by its parent reuses the spec built then).
            #[allow(unused_variables)]
            pub fn spec(#(#params),*) -> ::fauxtp::supervisor::SupervisorSpec {
                #spec
            }

            /// Starts the tree; returns once every child has started.
            #[allow(unused_variables)]
            pub async fn start(#args_var: #args_ty) -> #result {
                let started = ::fauxtp::supervisor::Supervisor::start(#call_spec).await;
                ::fauxtp::__private::name_start_error(started, #id)
            }

            /// Starts the tree linked to the calling process.
            #[allow(unused_variables)]
            pub async fn start_link(ctx: &impl ::fauxtp::ProcessContext, #args_var: #args_ty) -> #result {
                let started = ::fauxtp::supervisor::Supervisor::start_link(ctx, #call_spec).await;
                ::fauxtp::__private::name_start_error(started, #id)
            }

            /// Starts the tree registered as `name`.
            #[allow(unused_variables)]
            pub async fn start_named(name: &str, #args_var: #args_ty) -> #result {
                let started = ::fauxtp::supervisor::Supervisor::start_named(name, #call_spec).await;
                ::fauxtp::__private::name_start_error(started, #id)
            }

            /// A child spec that starts this tree under another supervisor
            /// (its children's specs are built now, from `args`).
            #[allow(unused_variables)]
            pub fn child(#args_var: #args_ty) -> ::fauxtp::supervisor::ChildSpec {
                ::fauxtp::supervisor::Supervisor::child(#call_spec).id(#id)
            }
        }
    }
}
