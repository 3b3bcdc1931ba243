// `init` returns an `Option<Self>` instead of `Self` or `Result<Self, E>`.
use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
impl Counter {
    fn init(start: u64) -> Option<Self> {
        Some(Counter { count: start })
    }

    #[call]
    fn get(&self) -> u64 {
        self.count
    }
}

fn main() {}
