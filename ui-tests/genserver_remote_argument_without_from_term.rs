use fauxtp::prelude::*;

/// Not convertible from an Erlang term.
struct Point {
    x: i32,
}

struct Plotter;

#[genserver(remote)]
impl Plotter {
    fn init() -> Self {
        Plotter
    }

    #[call]
    fn plot(&mut self, point: Point) -> i32 {
        point.x
    }
}

fn main() {}
