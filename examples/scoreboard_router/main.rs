//! A router that reads the scoreboard on every request: it sends each request to the
//! cheapest model whose last-minute p95 and error rate are credibly within the caller's
//! limits, falls back when an alert fires, and records every choice back into the
//! monitor. Twelve minutes into a 40-minute run the cheapest model starts failing 35% of
//! its requests for six minutes; the table shows traffic leaving it within seconds and
//! returning once it is credibly well again.
//!
//! Run with `cargo run --release --example scoreboard_router`.

mod policy;
mod sim;

fn main() {
    let minutes = sim::run(40, 20, 12..18, 7);
    println!(
        "minute  {:>12} {:>13} {:>7}  excluded        alert on {}",
        sim::CHEAP,
        "claude-haiku",
        "gpt-4o",
        sim::CHEAP
    );
    for m in &minutes {
        let burst = if (12..18).contains(&m.minute) {
            "*"
        } else {
            " "
        };
        println!(
            "{:>5}{burst} {:>11.0}% {:>12.0}% {:>6.0}%  {:<15} {}",
            m.minute,
            m.share(sim::CHEAP) * 100.0,
            m.share("claude-haiku") * 100.0,
            m.share("gpt-4o") * 100.0,
            m.excluded.join(","),
            m.cheap_alert.map_or("-".to_owned(), |s| format!("{s:?}")),
        );
    }
    println!("(* = minutes of the planted error burst; shares of each minute's requests)");
}
