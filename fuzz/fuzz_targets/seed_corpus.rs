//! Writes the seed corpus for `stats_segment`: the synthetic sample segment
//! and a few variants (no directory, a single entry of each type).
use vpp_maglev::vpp::stats::synth::{sample_segment, SegmentBuilder};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "corpus/stats_segment".into());
    std::fs::create_dir_all(&dir).expect("create corpus dir");
    let mut seeds = vec![("sample", sample_segment())];
    seeds.push(("empty", SegmentBuilder::new(0x7f00_0000_0000, 1).finish()));
    let mut b = SegmentBuilder::new(0x7f00_0000_0000, 2);
    let target = b.combined("/if/rx", &[&[(1, 64), (2, 128)]]);
    b.symlink("/interfaces/pg0/rx", target, 1);
    seeds.push(("symlink", b.finish()));
    let mut b = SegmentBuilder::new(0x7f00_0000_0000, 3);
    b.names("/sys/node/names", &[Some("null-node"), None, Some("lb4")]);
    b.gauge("/sys/vector_rate", 0);
    seeds.push(("names", b.finish()));
    for (name, bytes) in seeds {
        std::fs::write(format!("{dir}/{name}"), bytes).expect("write seed");
    }
}
