//! The checked model of a `receive!`: message arms with the names they bind,
//! and an optional timeout arm.

use syn::spanned::Spanned;
use syn::{Expr, Pat};

use super::parse::{Input, Item};
use crate::errors::Errors;
use crate::pattern::{bind, Binding};

pub(crate) struct Receive {
    pub ctx: Expr,
    pub arms: Vec<MsgArm>,
    pub after: Option<After>,
}

/// Which entry of the mailbox an arm matches.
pub(crate) enum Kind {
    Message,
    Down,
    Exit,
}

pub(crate) struct MsgArm {
    /// The pattern as it matches inside the entry, with `mut` removed (the
    /// bindings are moved out at once and re-bound, `mut` included, around
    /// the body).
    pub cases: Vec<(Kind, Pat)>,
    pub guard: Option<Expr>,
    pub bindings: Vec<Binding>,
    pub body: Expr,
}

pub(crate) struct After {
    pub duration: Expr,
    pub body: Expr,
}

impl Receive {
    pub(crate) fn from_input(input: Input) -> syn::Result<Receive> {
        let mut errors = Errors::default();
        if input.items.is_empty() {
            errors.push(
                input.brace.span.join(),
                "receive! needs at least one arm: `pattern => expr` or `after duration => expr`",
            );
        }
        // An `after` is misplaced if a message arm follows it.
        let last_message_arm = input
            .items
            .iter()
            .rposition(|item| matches!(item, Item::Arm(_)));
        let mut arms = Vec::new();
        let mut after = None;
        for (index, item) in input.items.into_iter().enumerate() {
            match item {
                Item::Arm(arm) => {
                    if let Some(attr) = arm.attrs.first() {
                        errors.push(
                            attr.meta.span(),
                            "attributes are not supported on receive! arms",
                        );
                    }
                    arms.push(MsgArm::new(arm.pat, *arm.body, &mut errors));
                }
                Item::After(arm) => {
                    if after.is_some() {
                        errors.push(
                            arm.keyword.span,
                            "receive! takes only one `after` arm; merge the two timeouts into one",
                        );
                    } else if last_message_arm.is_some_and(|last| last > index) {
                        errors.push(
                            arm.keyword.span,
                            "the `after` arm must be the last arm of receive!; move it below the message arms",
                        );
                    }
                    after = Some(After {
                        duration: arm.duration,
                        body: arm.body,
                    });
                }
            }
        }
        errors.finish()?;
        Ok(Receive {
            ctx: input.ctx,
            arms,
            after,
        })
    }
}

impl MsgArm {
    fn new(pat: Pat, body: Expr, errors: &mut Errors) -> MsgArm {
        let (pat, guard) = match pat {
            Pat::Guard(guarded) => (*guarded.pat, Some(*guarded.guard)),
            pat => (pat, None),
        };
        let alternatives: Vec<Pat> = match pat {
            Pat::Or(or) => or.cases.into_iter().collect(),
            pat => vec![pat],
        };
        let mut bindings = Vec::new();
        let mut cases = Vec::new();
        for alternative in alternatives {
            let (kind, mut inner) = classify(alternative);
            bind(&mut inner, &mut bindings, errors);
            cases.push((kind, inner));
        }
        MsgArm {
            cases,
            guard,
            bindings,
            body,
        }
    }
}

/// A bare `Down(p)` or `Exit(p)` matches a signal; anything else a message.
fn classify(pat: Pat) -> (Kind, Pat) {
    let Pat::TupleStruct(ts) = pat else {
        return (Kind::Message, pat);
    };
    let bare = ts.qself.is_none() && ts.path.leading_colon.is_none() && ts.elems.len() == 1;
    let kind = if !bare {
        Kind::Message
    } else if ts.path.is_ident("Down") {
        Kind::Down
    } else if ts.path.is_ident("Exit") {
        Kind::Exit
    } else {
        Kind::Message
    };
    match kind {
        Kind::Message => (kind, Pat::TupleStruct(ts)),
        signal => {
            let inner = ts.elems.into_iter().next();
            (signal, inner.unwrap_or(Pat::Verbatim(Default::default())))
        }
    }
}
