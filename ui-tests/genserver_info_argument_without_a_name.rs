use fauxtp::prelude::*;

struct Tick;

struct Clock;

#[genserver]
impl Clock {
    fn init() -> Self {
        Clock
    }

    #[info]
    fn tick(&mut self, _: Tick) {}
}

fn main() {}
