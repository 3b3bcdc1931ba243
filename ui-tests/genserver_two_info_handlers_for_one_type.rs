// Two #[info] handlers handle the same message type.
use fauxtp::prelude::*;

struct Tick;

struct Clock {
    ticks: u64,
}

#[genserver]
impl Clock {
    fn init() -> Self {
        Clock { ticks: 0 }
    }

    #[info]
    fn tick(&mut self, _tick: Tick) {
        self.ticks += 1;
    }

    #[info]
    fn tock(&mut self, _tick: Tick) {
        self.ticks += 1;
    }
}

fn main() {}
