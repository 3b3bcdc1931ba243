// An unknown option on the impl block and a #[cast] that returns a value: both are reported.
use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver(timeout = "1s")]
impl Counter {
    fn init() -> Self {
        Counter { count: 0 }
    }

    #[cast]
    fn reset(&mut self) -> u64 {
        std::mem::take(&mut self.count)
    }
}

fn main() {}
