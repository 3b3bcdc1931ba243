use fauxtp::statem::{keep, StatemCtx, Transition};

#[derive(Debug, Clone, PartialEq)]
enum Door {
    Locked,
}

struct Lock;

#[fauxtp::statem]
impl Lock {
    #[call(Door::Locked)]
    fn button(&mut self, digit: u8, ctx: &mut StatemCtx<'_, Self>) -> Transition<Door, u8> {
        let _ = ctx;
        keep().reply(digit)
    }
}

#[tokio::main]
async fn main() {
    let _ = Lock::start(()).await;
}
