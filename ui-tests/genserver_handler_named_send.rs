use fauxtp::prelude::*;

struct Mailer;

#[genserver]
impl Mailer {
    fn init() -> Self {
        Mailer
    }

    #[cast]
    fn send(&mut self, to: String) {
        let _ = to;
    }
}

fn main() {}
