// One method carries two handler attributes (#[call] and #[cast]).
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
    #[cast]
    fn get(&self) -> u64 {
        self.count
    }
}

fn main() {}
