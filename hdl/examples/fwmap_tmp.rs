fn main() {
    let cfg = bbcu_arch::HwConfig::preset("ice40-up5k").unwrap();
    let (map, len) = bbcu_hdl::linkfw::firmware_map(&cfg, 40);
    let mut pieces: Vec<(usize, usize, &str)> =
        map.windows(2).map(|w| (w[1].0 - w[0].0, w[0].0, w[0].1.as_str())).collect();
    pieces.push((len - map.last().unwrap().0, map.last().unwrap().0, map.last().unwrap().1.as_str()));
    println!("{len} words, first label at {}", map[0].0);
    for p in &pieces {
        println!("{:5} {:5} {}", p.1, p.0, p.2);
    }
}
