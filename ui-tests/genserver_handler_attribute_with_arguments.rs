use fauxtp::prelude::*;

struct Counter;

#[genserver]
impl Counter {
    fn init() -> Self {
        Counter
    }

    #[call(timeout = "1s")]
    fn get(&self) -> u64 {
        0
    }
}

fn main() {}
