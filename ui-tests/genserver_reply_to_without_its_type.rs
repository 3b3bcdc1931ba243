// A #[call] handler takes a `ReplyTo` without its type argument.
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
    fn get_later(&mut self, reply: ReplyTo) {
        reply.reply(self.count);
    }
}

fn main() {}
