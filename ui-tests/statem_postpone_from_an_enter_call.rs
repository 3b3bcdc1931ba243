#![allow(unused_imports)]
use fauxtp::statem::{keep, next, EnterCtx, Transition};

#[derive(Debug, Clone, PartialEq)]
enum Door {
    Locked,
    Open,
}

struct Lock;

#[fauxtp::statem]
impl Lock {
    fn init() -> (Door, Self) {
        (Door::Locked, Lock)
    }

    #[enter(Door::Open)]
    #[postpone(Door::Open)]
    fn opened(&mut self, _ctx: &mut EnterCtx<'_, Self>) {}
}
fn main() {}
