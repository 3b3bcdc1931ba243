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

    #[call(Door::Locked)]
    fn button(&mut self, digit: u8) -> Transition<Door, u8> {
        keep().reply(digit)
    }

    #[call(Door::Locked)]
    fn button(&mut self, digit: u8) -> Transition<Door, u8> {
        next(Door::Open).reply(digit)
    }
}
fn main() {}
