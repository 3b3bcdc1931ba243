use fauxtp::prelude::*;

struct Counter {
    count: u64,
}

#[genserver]
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
