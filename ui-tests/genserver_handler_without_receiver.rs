use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    #[call]
    fn get() -> u64 {
        0
    }
}

fn main() {}
