#![allow(unused_imports)]
use fauxtp::statem::{keep, Transition};

#[derive(Debug, Clone, PartialEq)]
enum Door {
    Locked,
}

struct Relock;

struct Lock;

#[fauxtp::statem]
impl Lock {
    fn init() -> (Door, Self) {
        (Door::Locked, Lock)
    }

    #[info(Door::Locked)]
    fn relock(&mut self, _: Relock) -> Transition<Door> {
        keep()
    }
}

fn main() {}
