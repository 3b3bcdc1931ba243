//! `#[derive(ToTerm, FromTerm)]`: Rust types as Erlang terms, the way OTP
//! writes messages. A unit variant (or unit struct) is an atom, its name in
//! snake case (`Get` is `get`); a variant or struct with fields is a tuple
//! tagged with that atom, its fields in order (`Add(7)` is `{add, 7}`,
//! `Point { x: 1, y: 2 }` is `{point, 1, 2}`, a record as Erlang writes
//! it).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields, GenericParam, Ident, Index, Type};

/// One shape a value of the type can take: a struct has one, an enum one
/// per variant.
struct Shape {
    /// The atom that names it.
    tag: String,
    /// `Self` or `Self::Variant`.
    path: TokenStream,
    fields: Vec<(Member, Type)>,
}

/// How a field is reached, and the local it is bound to.
struct Member {
    access: TokenStream,
    binding: Ident,
}

fn shapes(input: &DeriveInput) -> syn::Result<Vec<Shape>> {
    let shape = |ident: &Ident, path: TokenStream, fields: &Fields| Shape {
        tag: snake_case(&ident.to_string()),
        path,
        fields: fields
            .iter()
            .enumerate()
            .map(|(i, field)| {
                let access = match &field.ident {
                    Some(name) => quote!(#name),
                    None => {
                        let index = Index::from(i);
                        quote!(#index)
                    }
                };
                let binding = format_ident!("__fauxtp_field{}", i, span = Span::mixed_site());
                (Member { access, binding }, field.ty.clone())
            })
            .collect(),
    };
    match &input.data {
        Data::Struct(data) => Ok(vec![shape(&input.ident, quote!(Self), &data.fields)]),
        Data::Enum(data) if data.variants.is_empty() => Err(syn::Error::new(
            input.ident.span(),
            "an enum without variants has no value to convert",
        )),
        Data::Enum(data) => Ok(data
            .variants
            .iter()
            .map(|v| {
                let ident = &v.ident;
                shape(ident, quote!(Self::#ident), &v.fields)
            })
            .collect()),
        Data::Union(data) => Err(syn::Error::new(
            data.union_token.span(),
            "unions cannot be converted to Erlang terms; use a struct or an enum",
        )),
    }
}

/// `AddItem` -> `add_item`, `HTTPServer` -> `http_server`.
fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev = i.checked_sub(1).map(|j| chars[j]);
            let next = chars.get(i + 1);
            let starts_word = prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                || (prev.is_some_and(char::is_uppercase) && next.is_some_and(|n| n.is_lowercase()));
            if starts_word {
                out.push('_');
            }
            out.extend(c.to_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The type's generics, each type parameter bounded by `bound`.
fn bounded(input: &DeriveInput, bound: TokenStream) -> syn::Generics {
    let mut generics = input.generics.clone();
    for param in &mut generics.params {
        if let GenericParam::Type(ty) = param {
            ty.bounds.push(syn::parse_quote!(#bound));
        }
    }
    generics
}

/// The derive of `ToTerm`; for a type it cannot convert, an impl that is
/// never run beside the error, so that code using it shows no errors of its
/// own.
pub(crate) fn to_term(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let ident = &input.ident;
    let generics = bounded(&input, quote!(::fauxtp::dist::ToTerm));
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let shapes = match shapes(&input) {
        Ok(shapes) => shapes,
        Err(error) => {
            let error = error.into_compile_error();
            return Ok(quote! {
                #error
                #[automatically_derived]
                impl #impl_generics ::fauxtp::dist::ToTerm for #ident #ty_generics #where_clause {
                    fn to_term(&self) -> ::fauxtp::dist::term::Term {
                        ::core::unreachable!()
                    }
                }
            });
        }
    };
    let arms = shapes.iter().map(|shape| {
        let path = &shape.path;
        let tag = &shape.tag;
        let bindings: Vec<&Ident> = shape.fields.iter().map(|(m, _)| &m.binding).collect();
        let accesses = shape.fields.iter().map(|(m, _)| &m.access);
        // `Path { 0: a, 1: b }` matches tuple variants too.
        let pattern = if bindings.is_empty() {
            quote!(#path { .. })
        } else {
            quote!(#path { #(#accesses: #bindings),* })
        };
        let term = if bindings.is_empty() {
            quote!(::fauxtp::dist::term::atom(#tag))
        } else {
            quote! {
                ::fauxtp::dist::term::tuple(::std::vec![
                    ::fauxtp::dist::term::atom(#tag),
                    #(::fauxtp::dist::ToTerm::to_term(#bindings),)*
                ])
            }
        };
        quote!(#pattern => #term,)
    });
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::fauxtp::dist::ToTerm for #ident #ty_generics #where_clause {
            fn to_term(&self) -> ::fauxtp::dist::term::Term {
                match self {
                    #(#arms)*
                }
            }
        }
    })
}

/// The derive of `FromTerm`; for a type it cannot convert, an impl that is
/// never run beside the error (see [`to_term`]).
pub(crate) fn from_term(input: TokenStream) -> syn::Result<TokenStream> {
    let input: DeriveInput = syn::parse2(input)?;
    let ident = &input.ident;
    let generics = bounded(&input, quote!(::fauxtp::dist::FromTerm));
    let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
    let shapes = match shapes(&input) {
        Ok(shapes) => shapes,
        Err(error) => {
            let error = error.into_compile_error();
            return Ok(quote! {
                #error
                #[automatically_derived]
                impl #impl_generics ::fauxtp::dist::FromTerm for #ident #ty_generics #where_clause {
                    fn from_term(
                        _: &::fauxtp::dist::term::Term,
                    ) -> ::core::result::Result<Self, ::fauxtp::dist::TermError> {
                        ::core::unreachable!()
                    }
                }
            });
        }
    };
    let term = Ident::new("__fauxtp_term", Span::mixed_site());
    let tag = Ident::new("__fauxtp_tag", Span::mixed_site());
    let args = Ident::new("__fauxtp_args", Span::mixed_site());
    let expected = shapes
        .iter()
        .map(|s| match s.fields.len() {
            0 => s.tag.clone(),
            n => format!("{{{}{}}}", s.tag, ", _".repeat(n)),
        })
        .collect::<Vec<_>>()
        .join(" or ");
    let checks = shapes.iter().map(|shape| {
        let path = &shape.path;
        let name = &shape.tag;
        let count = shape.fields.len();
        let accesses = shape.fields.iter().map(|(m, _)| &m.access);
        let reads =
            shape.fields.iter().enumerate().map(
                |(i, (_, ty))| quote!(<#ty as ::fauxtp::dist::FromTerm>::from_term(&#args[#i])?),
            );
        quote! {
            if #tag == #name && #args.len() == #count {
                return ::core::result::Result::Ok(#path { #(#accesses: #reads,)* });
            }
        }
    });
    Ok(quote! {
        #[automatically_derived]
        impl #impl_generics ::fauxtp::dist::FromTerm for #ident #ty_generics #where_clause {
            fn from_term(
                #term: &::fauxtp::dist::term::Term,
            ) -> ::core::result::Result<Self, ::fauxtp::dist::TermError> {
                if let ::core::option::Option::Some((#tag, #args)) =
                    ::fauxtp::dist::__private::request_parts(#term)
                {
                    #(#checks)*
                }
                ::core::result::Result::Err(::fauxtp::dist::TermError::new(#expected, #term))
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::snake_case;

    #[test]
    fn names_in_snake_case() {
        assert_eq!(snake_case("Get"), "get");
        assert_eq!(snake_case("AddItem"), "add_item");
        assert_eq!(snake_case("HTTPServer"), "http_server");
        assert_eq!(snake_case("Point3d"), "point3d");
        assert_eq!(snake_case("V2Beta"), "v2_beta");
    }
}
