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
    fn init() -> Self {
        Lock
    }
}
fn main() {}
