//! `cargo run --release -p trailwatch-sim --example simulate -- OUT [aws|azure|both] [DAYS] [EVENTS_PER_DAY] [SEED]`
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut o =
        trailwatch_sim::SimOptions::new(args.first().map(String::as_str).unwrap_or("sim-out"));
    if let Some(p) = args.get(1) {
        o.providers = p.parse()?;
    }
    if let Some(d) = args.get(2) {
        o.days = d.parse()?;
    }
    if let Some(n) = args.get(3) {
        o.events_per_day = n.parse()?;
    }
    if let Some(s) = args.get(4) {
        o.seed = s.parse()?;
    }
    let t = Instant::now();
    let r = trailwatch_sim::simulate(&o)?;
    let secs = t.elapsed().as_secs_f64();
    println!("aws   {:?}", r.aws);
    println!("azure {:?} rest={}", r.azure, r.azure_rest_records);
    println!("scenarios {}", r.scenarios.len());
    println!(
        "{:.1}s, {:.0} records/s",
        secs,
        r.total_records() as f64 / secs
    );
    Ok(())
}
