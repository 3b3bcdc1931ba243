// A #[call] handler has an argument named `reply`, the name of the generated reply field.
use fauxtp::prelude::*;

struct Inbox {
    last: Option<String>,
}

#[genserver]
impl Inbox {
    fn init() -> Self {
        Inbox { last: None }
    }

    #[call]
    fn answer(&mut self, reply: String) -> bool {
        self.last.replace(reply).is_none()
    }
}

fn main() {}
