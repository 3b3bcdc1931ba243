// A #[call] handler takes a `ReplyTo<T>` and also returns a value.
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
    fn get_later(&mut self, reply: ReplyTo<u64>) -> u64 {
        reply.reply(self.count);
        self.count
    }
}

fn main() {}
