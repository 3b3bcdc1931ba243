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
    #[cast(Door::Locked)]
    fn button(&mut self, digit: u8) -> Transition<Door> {
        let _ = digit;
        keep()
    }
}
fn main() {}
