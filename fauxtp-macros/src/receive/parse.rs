//! The syntax of `receive!(ctx, { arms })`, as written.

use syn::parse::{Parse, ParseStream};
use syn::{braced, token, Arm, Expr, Token};

syn::custom_keyword!(after);

pub(crate) struct Input {
    pub ctx: Expr,
    pub brace: token::Brace,
    pub items: Vec<Item>,
}

pub(crate) enum Item {
    Arm(Arm),
    After(AfterArm),
}

/// `after DURATION => BODY`
pub(crate) struct AfterArm {
    pub keyword: after,
    pub duration: Expr,
    pub body: Expr,
}

impl Parse for Input {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.is_empty() || input.peek(token::Brace) {
            return Err(input.error(
                "receive! needs the process context first: `receive!(ctx, { pattern => expr, ... })`",
            ));
        }
        let ctx: Expr = input.parse()?;
        if !input.peek(Token![,]) {
            return Err(input.error(
                "expected `,` and the arms in braces after the context: `receive!(ctx, { pattern => expr, ... })`",
            ));
        }
        input.parse::<Token![,]>()?;
        if !input.peek(token::Brace) {
            return Err(input
                .error("expected the arms in braces: `receive!(ctx, { pattern => expr, ... })`"));
        }
        let content;
        let brace = braced!(content in input);
        let mut items = Vec::new();
        while !content.is_empty() {
            items.push(content.parse()?);
        }
        input.parse::<Option<Token![,]>>()?;
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the arms of receive!"));
        }
        Ok(Input { ctx, brace, items })
    }
}

impl Parse for Item {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(after) {
            if input.peek2(Token![=>]) {
                return Err(
                    input.error("`after` needs a duration: `after Duration::from_secs(1) => expr`")
                );
            }
            // `after if ..`, `after @ ..`, `after | ..`: a binding named `after`.
            if !(input.peek2(Token![if]) || input.peek2(Token![@]) || input.peek2(Token![|])) {
                return input.parse().map(Item::After);
            }
        }
        input.parse().map(Item::Arm)
    }
}

impl Parse for AfterArm {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let keyword = input.parse()?;
        let duration = input.parse()?;
        input.parse::<Token![=>]>()?;
        let body = Expr::parse_with_earlier_boundary_rule(input)?;
        if !input.is_empty() {
            if is_block_like(&body) {
                input.parse::<Option<Token![,]>>()?;
            } else {
                input.parse::<Token![,]>()?;
            }
        }
        Ok(AfterArm {
            keyword,
            duration,
            body,
        })
    }
}

/// Whether a match-arm body may be followed by another arm without a comma.
fn is_block_like(expr: &Expr) -> bool {
    matches!(
        expr,
        Expr::Block(_)
            | Expr::If(_)
            | Expr::Match(_)
            | Expr::Loop(_)
            | Expr::While(_)
            | Expr::ForLoop(_)
            | Expr::Unsafe(_)
            | Expr::TryBlock(_)
            | Expr::Const(_)
    )
}
