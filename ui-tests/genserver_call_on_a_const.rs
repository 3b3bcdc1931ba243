use fauxtp::prelude::*;

struct Counter;

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter
    }

    #[call]
    const LIMIT: u64 = 10;
}

fn main() {}
