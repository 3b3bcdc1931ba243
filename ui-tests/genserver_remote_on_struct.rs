use fauxtp::prelude::*;

#[genserver(remote)]
struct Counter;

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter
    }
}

fn main() {}
