//! Gazetteer figures: embedded size, load time, resident memory it adds, and the time of
//! each kind of lookup after warm-up.
//!
//! cargo bench --bench gazetteer
//!
//! Run on a quiet machine: other builds sharing the cores inflate the wall-clock load time
//! (the CPU time beside it is the steadier figure).

use std::hint::black_box;
use std::time::{Duration, Instant};

use lotara::knowledge::gazetteer;

/// Resident set size in kB, from /proc (Linux).
fn rss_kb() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we own and reads nothing else.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Runs `f` over the inputs round-robin for about half a second, after a warm-up pass,
/// and prints the mean time per call.
fn bench<T>(label: &str, inputs: &[&str], mut f: impl FnMut(&str) -> T) {
    for input in inputs {
        black_box(f(black_box(input)));
    }
    let mut calls = 0u64;
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(500) {
        for input in inputs {
            black_box(f(black_box(input)));
        }
        calls += inputs.len() as u64;
    }
    let ns = start.elapsed().as_nanos() as f64 / calls as f64;
    println!("{label:<44} {ns:>8.0} ns/lookup   ({calls} calls)");
}

fn main() {
    let rss_before = rss_kb();
    let (cpu0, wall0) = (cpu_time(), Instant::now());
    gazetteer::warm();
    let (load_wall, load_cpu) = (wall0.elapsed(), cpu_time() - cpu0);
    let rss_after = rss_kb();
    let s = gazetteer::stats();

    println!(
        "embedded file      {:>10} bytes (deflated TSV)",
        s.embedded_bytes
    );
    println!("decompressed text  {:>10} bytes", s.text_bytes);
    println!(
        "load               {:>10.1} ms wall, {:.1} ms CPU",
        load_wall.as_secs_f64() * 1e3,
        load_cpu.as_secs_f64() * 1e3
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        println!(
            "RSS growth         {:>10.1} MB ({before} kB → {after} kB)",
            (after - before) as f64 / 1024.0
        );
    }
    println!(
        "data               {} places, {} airports ({} scheduled), {} countries, {} divisions, {} indexed names; longest name {} words",
        s.places,
        s.airports,
        s.scheduled_airports,
        s.countries,
        s.admin1,
        s.indexed_names,
        gazetteer::max_name_words()
    );
    println!();

    let typical = [
        "Paris",
        "Đà Lạt",
        "TP.HCM",
        "Portland",
        "Springfield",
        "New York",
        "München",
        "Saigon",
        "Melbourne",
        "Ho Chi Minh City",
        "Kraków",
        "Denver",
    ];
    let misses = [
        "the",
        "weekend",
        "with",
        "kids",
        "beach",
        "budget",
        "tuần",
        "chuyến đi",
    ];
    bench(
        "places_named (typical names)",
        &typical,
        gazetteer::places_named,
    );
    bench(
        "places_named (words that are no place)",
        &misses,
        gazetteer::places_named,
    );
    for name in ["Paris", "Đà Lạt", "TP.HCM", "Springfield"] {
        bench(
            &format!("places_named({name:?})"),
            &[name],
            gazetteer::places_named,
        );
    }
    bench(
        "airport (IATA code)",
        &["SGN", "lhr", "DEN", "XXX"],
        gazetteer::airport,
    );
    bench(
        "airports_named",
        &["Heathrow", "Noi Bai", "Charles de Gaulle"],
        gazetteer::airports_named,
    );
    bench(
        "country_named",
        &["Nhật Bản", "Allemagne", "Mỹ", "United States", "Vietnam"],
        gazetteer::country_named,
    );
    bench(
        "region_named",
        &["Đông Nam Á", "Europe", "Trung Đông", "Asie du Sud-Est"],
        gazetteer::region_named,
    );
    bench(
        "admin1_named",
        &["Bali", "Oregon", "Tuscany"],
        gazetteer::admin1_named,
    );
    bench(
        "normalize",
        &["Thành phố Hồ Chí Minh", "TP.HCM", "München"],
        gazetteer::normalize,
    );
    bench(
        "nearest_airports (150 km)",
        &["Da Lat", "Lyon", "Denver"],
        |name| {
            let p = gazetteer::places_named(name)[0];
            gazetteer::nearest_airports(p.lat, p.lon, 150.0)
        },
    );
}
